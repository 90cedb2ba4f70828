/* A small threaded TCP server for greenrun --workers (workers_checks.py): it binds 127.0.0.1
 * PORT, prints "listening on PORT" and serves each connection on a thread of its own. A
 * connection sends one line and gets one back:
 *   "pid"      -> "pid N usr1 K": its process id and how many SIGUSR1 it has received
 *   "exit S"   -> "pid N exits S", then the process exits with status S
 *   "abort"    -> "pid N aborts", then it aborts (SIGABRT)
 * usage: workers_server PORT [term-exits-0 | ignore-term]
 *   term-exits-0: SIGTERM ends it with status 0 (a graceful stop)
 *   ignore-term:  SIGTERM is ignored (only SIGKILL ends it) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count;

static void on_usr1(int signal) {
  (void)signal;
  ++usr1_count;
}

static void on_term(int signal) {
  (void)signal;
  _exit(0);
}

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  char line[64] = {0};
  ssize_t n = read(fd, line, sizeof line - 1);
  if (n > 0) line[n] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  char reply[96];
  int status = -1;
  int do_abort = 0;
  if (sscanf(line, "exit %d", &status) == 1) {
    snprintf(reply, sizeof reply, "pid %d exits %d\n", (int)getpid(), status);
  } else if (strcmp(line, "abort") == 0) {
    snprintf(reply, sizeof reply, "pid %d aborts\n", (int)getpid());
    do_abort = 1;
  } else {
    snprintf(reply, sizeof reply, "pid %d usr1 %d\n", (int)getpid(), (int)usr1_count);
  }
  if (write(fd, reply, strlen(reply)) < 0) perror("write");
  close(fd);
  if (do_abort) abort();
  if (status >= 0) exit(status);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [term-exits-0 | ignore-term]\n", argv[0]);
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
  sigaction(SIGUSR1, &sa, NULL);
  if (argc > 2 && strcmp(argv[2], "term-exits-0") == 0) signal(SIGTERM, on_term);
  if (argc > 2 && strcmp(argv[2], "ignore-term") == 0) signal(SIGTERM, SIG_IGN);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0) {
    perror("bind");
    return 1;
  }
  if (listen(listener, 128) != 0) {
    perror("listen");
    return 1;
  }
  printf("listening on %s\n", argv[1]);
  fflush(stdout);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    pthread_t thread;
    if (pthread_create(&thread, NULL, serve, (void*)(intptr_t)fd) == 0) pthread_detach(thread);
    else close(fd);
  }
}
