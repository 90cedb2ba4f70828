/* Ten threads alive at once, each sleeping 20 ms, all joined. With GREENRUN_STATS=1 the table
 * at exit must count them: 10 created, 11 alive at the peak (main included). */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static void* napper(void* arg) {
  (void)arg;
  usleep(20 * 1000);
  return NULL;
}

int main(void) {
  pthread_t threads[10];
  for (int i = 0; i < 10; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, napper, NULL), 0);
  for (int i = 0; i < 10; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  printf("joined 10\n");
  return 0;
}
