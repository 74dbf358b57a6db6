/* 1e8-iteration integer loop with a data-dependent recurrence (cannot be folded). */
#include <stdio.h>
#include <stdint.h>

static int64_t loop(int64_t n) {
    int64_t x = 1, s = 0, i = 0;
    while (i < n) {
        x = (x * 31 + i) % 1000003;
        s = s + x;
        i = i + 1;
    }
    return s;
}

int main(int argc, char **argv) {
    (void)argv;
    /* argc keeps n opaque to the optimiser */
    printf("%lld\n", (long long)loop(100000000 + (argc - 1)));
    return 0;
}
