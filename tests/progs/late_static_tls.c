// dlopen of a library with initial-exec TLS while other threads run, then a new thread. glibc
// gives the library static TLS; the new thread must see its initial value (42). Under greenrun
// the threads that existed before the dlopen cannot, and greenrun says so in one line.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int (*late_read)(void);
static volatile int stop;

static void* idler(void* arg) {
  (void)arg;
  while (!stop) usleep(1000);
  return NULL;
}

static void* reader(void* arg) {
  *(int*)arg = late_read();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  pthread_t idle, r;
  pthread_create(&idle, NULL, idler, NULL);
  usleep(5000);
  void* lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  late_read = (int (*)(void))dlsym(lib, "late_read");
  int seen = 0;
  pthread_create(&r, NULL, reader, &seen);
  pthread_join(r, NULL);
  printf("a thread created after the dlopen reads %d\n", seen);
  stop = 1;
  pthread_join(idle, NULL);
  return 0;
}
