/* The smallest program there is, linked statically (and dynamically, to compare): LD_PRELOAD
 * never reaches the static one, so the launcher must refuse it (launcher_checks.py). It prints
 * its arguments, which shows that a program the launcher accepts gets them all. */
#include <stdio.h>

int main(int argc, char** argv) {
  printf("hello from %s with %d arguments:", argc > 0 ? "the program" : "?", argc - 1);
  for (int i = 1; i < argc; ++i) printf(" [%s]", argv[i]);
  printf("\n");
  return 0;
}
