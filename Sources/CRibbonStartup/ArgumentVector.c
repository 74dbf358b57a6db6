// The argument vector for Swift's `CommandLine`, from glibc instead of /proc/self/maps.
//
// The Swift runtime (CommandLine.cpp in libswiftCore.a) finds `argv` on Linux with a static
// constructor that reads /proc/self/maps line by line (fopen, sscanf) to locate the stack, then
// walks back from `environ`: about 0.06 ms of a 1.5 ms `ribbon run hello.rib` (measured with
// hyperfine; Documentation/Performance.md, "Start-up"). glibc already hands `argc` and `argv` to
// every `.init_array` function. Defining the runtime's lookup here means the linker never takes
// CommandLine.cpp.o from the static archive, so its constructor does not exist in this binary.
//
// Only the release build with a static Swift runtime is affected (RIBBON_STATIC_ARGV, set by
// Package.swift for release). With a shared libswiftCore.so the runtime calls its own copy, as
// the debug builds and tests do. A toolchain that changes this internal entry point fails
// loudly: a duplicate symbol at link time, or a `ribbon` that cannot read its arguments.
#if defined(RIBBON_STATIC_ARGV) && defined(__linux__)

#include <stddef.h>

static int captured_argc;
static char **captured_argv;
static char *empty_argv[] = { NULL };

// glibc calls `.init_array` entries as f(argc, argv, envp). Priority 101 runs before the Swift
// runtime's own constructors (default priority), so nothing can ask earlier.
static void capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}
__attribute__((section(".init_array.00101"), used))
static void (*const capture_arguments_entry)(int, char **, char **) = capture_arguments;

// The runtime's declaration (stdlib/public/CommandLineSupport/CommandLine.cpp):
//   SWIFT_CC(swift) SWIFT_RUNTIME_STDLIB_INTERNAL char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen);
// It returns argv (NULL-terminated) and stores argc; the result lives as long as the process.
__attribute__((swiftcall, visibility("hidden")))
char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    if (captured_argv == NULL) {
        *outArgLen = 0;
        return empty_argv;
    }
    *outArgLen = captured_argc;
    return captured_argv;
}

#endif
