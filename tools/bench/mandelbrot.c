/* Mandelbrot set on a 1000x1000 grid over [-2,1]x[-1.5,1.5], at most 50 iterations:
   double arithmetic. Prints the number of points that never escape. */
#include <stdio.h>
#include <stdint.h>

static int64_t mandelbrot(int64_t size, int64_t max_iter) {
    int64_t inside = 0;
    for (int64_t y = 0; y < size; y++) {
        double ci = (double)y * 3.0 / (double)size - 1.5;
        for (int64_t x = 0; x < size; x++) {
            double cr = (double)x * 3.0 / (double)size - 2.0;
            double zr = 0.0, zi = 0.0;
            int64_t k = 0;
            while (k < max_iter && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                k++;
            }
            if (k == max_iter) inside++;
        }
    }
    return inside;
}

int main(void) {
    printf("%lld\n", (long long)mandelbrot(1000, 50));
    return 0;
}
