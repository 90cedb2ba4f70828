// A program that uses libuv's threadpool itself (as Node does): its work items run on the pool's
// threads, green threads under greenrun, and one of them resolves a name. greenrun's own lookups
// must not be queued behind (or to) the program's pool, and nothing greenrun sets appears in the
// program's environment.
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static int resolved = -1;
static int done;

static void work(uv_work_t* req) {
  (void)req;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  resolved = getaddrinfo("localhost", "80", &hints, &res);
  if (res) freeaddrinfo(res);
}

static void after(uv_work_t* req, int status) {
  (void)req;
  done = status == 0;
}

int main(void) {
  uv_work_t reqs[8];
  for (int i = 0; i < 8; ++i) uv_queue_work(uv_default_loop(), &reqs[i], work, after);
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  printf("getaddrinfo in the program's own libuv work: %s\n", resolved == 0 ? "ok" : "failed");
  printf("work completed: %s\n", done ? "yes" : "no");
  const char* size = getenv("UV_THREADPOOL_SIZE");
  printf("UV_THREADPOOL_SIZE in the environment: %s\n", size ? size : "(unset)");
  return resolved != 0;
}
