// Capstone (libcapstone-dev), for X86Disassembler: types and constants only. The library is
// not linked: X86Disassembler loads it with dlopen when `disasm --machine` first needs it, so
// ordinary runs do not pay for relocating its 1.3 MB of tables at start-up.
#include <capstone/capstone.h>
