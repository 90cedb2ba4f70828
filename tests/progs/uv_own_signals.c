// A threaded program with a libuv loop of its own (as Node has): its signal handles, its child
// process watcher (SIGCHLD) and its timers must work as natively beside greenrun's loop, and
// greenrun must set nothing in its signal dispositions or environment that it did not set.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static int usr1_seen, hup_seen, exit_status = -1, exit_signal = -1, ticks;
static uv_signal_t usr1, hup;
static uv_timer_t timer;
static uv_process_t child;

static void* sleeper(void* arg) {
  usleep(200000);
  return arg;
}

static void on_signal(uv_signal_t* handle, int sig) {
  if (sig == SIGUSR1) ++usr1_seen;
  if (sig == SIGHUP) ++hup_seen;
  if (usr1_seen && hup_seen) {
    uv_signal_stop(&usr1);
    uv_signal_stop(&hup);
  }
  (void)handle;
}

static void on_exit_cb(uv_process_t* process, int64_t status, int term_signal) {
  exit_status = (int)status;
  exit_signal = term_signal;
  uv_close((uv_handle_t*)process, NULL);
}

static void on_tick(uv_timer_t* t) {
  if (++ticks == 1) {  // the loop runs: raise both signals at the process
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGHUP);
  }
  if (ticks == 5) uv_timer_stop(t);
}

static const char* disposition(int sig) {
  struct sigaction sa;
  sigaction(sig, NULL, &sa);
  if (sa.sa_handler == SIG_DFL) return "default";
  if (sa.sa_handler == SIG_IGN) return "ignored";
  return "handler";
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, sleeper, NULL);
  printf("before the loop: SIGUSR1 %s, SIGCHLD %s, UV_THREADPOOL_SIZE %s\n", disposition(SIGUSR1),
         disposition(SIGCHLD), getenv("UV_THREADPOOL_SIZE") ? "set" : "unset");
  uv_loop_t* loop = uv_default_loop();
  uv_signal_init(loop, &usr1);
  uv_signal_init(loop, &hup);
  uv_signal_start(&usr1, on_signal, SIGUSR1);
  uv_signal_start(&hup, on_signal, SIGHUP);
  printf("with signal handles: SIGUSR1 %s, SIGHUP %s\n", disposition(SIGUSR1), disposition(SIGHUP));

  char* args[] = {"/bin/sh", "-c", "exit 7", NULL};
  uv_process_options_t options;
  memset(&options, 0, sizeof options);
  options.file = args[0];
  options.args = args;
  options.exit_cb = on_exit_cb;
  int rc = uv_spawn(loop, &child, &options);
  printf("uv_spawn: %s\n", rc == 0 ? "ok" : uv_strerror(rc));

  uv_timer_init(loop, &timer);
  uv_timer_start(&timer, on_tick, 10, 10);
  uv_run(loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);
  printf("signals through the program's handles: SIGUSR1 %d, SIGHUP %d\n", usr1_seen, hup_seen);
  printf("child exit status %d, signal %d; timer ticks %d\n", exit_status, exit_signal, ticks);
  uv_loop_close(loop);
  return 0;
}
