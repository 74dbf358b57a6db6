// Small system queries Swift's Glibc module does not expose.
#ifndef RIBBON_SYSTEM_H
#define RIBBON_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

/// Copies the running executable's GNU build-id (NT_GNU_BUILD_ID note) into `out` and returns
/// its length, or 0 when it has none or it does not fit in `capacity` bytes.
size_t ribbon_executable_build_id(uint8_t *out, size_t capacity);

#endif
