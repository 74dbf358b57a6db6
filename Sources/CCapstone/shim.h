// Capstone (libcapstone-dev), for X86Disassembler. pkg-config "capstone" adds -I.../capstone.
#include <capstone/capstone.h>
