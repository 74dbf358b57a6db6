/* Sieve of Eratosthenes up to 1e7: arrays, nested loops, booleans. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdbool.h>

static int64_t count_primes(int64_t n) {
    bool *composite = malloc((size_t)(n + 1) * sizeof(bool));
    for (int64_t k = 0; k <= n; k++) composite[k] = false;
    int64_t count = 0;
    for (int64_t i = 2; i <= n; i++) {
        if (!composite[i]) {
            count++;
            for (int64_t j = i * i; j <= n; j += i) composite[j] = true;
        }
    }
    free(composite);
    return count;
}

int main(void) {
    printf("%lld\n", (long long)count_primes(10000000));
    return 0;
}
