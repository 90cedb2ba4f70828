/* OpenMP (libgomp): parallel regions whose team threads spin and then park in raw futex waits
 * libgomp makes with the syscall instruction. The sums must be the native ones. */
#include <omp.h>
#include <stdio.h>

int main(void) {
  double total = 0;
  for (int round = 0; round < 40; ++round) {
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) num_threads(4)
    for (int i = 0; i < 100000; ++i) sum += (double)i * (round + 1);
    total += sum;
  }
  int team = 0;
#pragma omp parallel num_threads(4)
  {
#pragma omp atomic
    ++team;
#pragma omp barrier
  }
  printf("total %.0f, team of %d met at a barrier\n", total, team);
  return 0;
}
