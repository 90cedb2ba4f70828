/* A thread-per-connection echo server and 1,000 client threads in one process, over TCP
 * loopback with blocking calls only. Each client sends a few KiB of bytes no other client
 * sends, half-closes, reads the echo to EOF and checks every byte. Under the preload all 2,002
 * threads are green threads on the one OS thread (PROPERTY os_threads).
 *
 * usage: echo_threads [CLIENTS]   (default 1000) */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static long clients;
static struct sockaddr_in server_address;
static pthread_attr_t small_stack;

/* The j-th byte client i sends: differs between clients and along the message. */
static unsigned char pattern(long client, size_t j) {
  return (unsigned char)((client * 131 + j * 7 + (j >> 8)) % 251);
}

static size_t message_size(long client) { return 2048 + (size_t)(client % 7) * 512; }

static void write_all(int fd, const unsigned char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) CHECK_EQ(w, (long long)n);
    p += w;
    n -= (size_t)w;
  }
}

static void* echo_connection(void* arg) {
  int fd = (int)(intptr_t)arg;
  unsigned char buf[4096];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) CHECK_EQ(r, 0);
    if (r == 0) break;
    write_all(fd, buf, (size_t)r);
  }
  CHECK_EQ(close(fd), 0);
  return NULL;
}

/* Accepts exactly `clients` connections, one echo thread each. */
static void* acceptor(void* arg) {
  int listener = (int)(intptr_t)arg;
  for (long i = 0; i < clients; ++i) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) CHECK_EQ(fd, 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, &small_stack, echo_connection, (void*)(intptr_t)fd), 0);
    CHECK_RC(pthread_detach(t), 0);
  }
  return NULL;
}

static void* client(void* arg) {
  long id = (long)arg;
  size_t n = message_size(id);
  unsigned char* sent = malloc(n);
  unsigned char* got = malloc(n + 1);
  for (size_t j = 0; j < n; ++j) sent[j] = pattern(id, j);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(fd >= 0, 1);
  CHECK_EQ(connect(fd, (struct sockaddr*)&server_address, sizeof server_address), 0);
  if (id == clients / 2) note_os_threads();
  write_all(fd, sent, n);
  CHECK_EQ(shutdown(fd, SHUT_WR), 0);
  size_t have = 0;
  for (;;) {
    ssize_t r = read(fd, got + have, n + 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) CHECK_EQ(r, 0);
    if (r == 0) break;
    have += (size_t)r;
    if (have > n) CHECK_EQ(have, n);
  }
  CHECK_EQ(have, n);
  for (size_t j = 0; j < n; ++j)
    if (got[j] != sent[j]) {
      fprintf(stderr, "client %ld: byte %zu is %d, sent %d\n", id, j, got[j], sent[j]);
      exit(99);
    }
  CHECK_EQ(close(fd), 0);
  free(sent);
  free(got);
  return (void*)n;
}

int main(int argc, char** argv) {
  clients = argc > 1 ? atol(argv[1]) : 1000;
  CHECK_RC(pthread_attr_init(&small_stack), 0);
  CHECK_RC(pthread_attr_setstacksize(&small_stack, 128 * 1024), 0);

  int listener = loopback_listener(0, (int)clients, &server_address);

  pthread_t accepting;
  CHECK_RC(pthread_create(&accepting, &small_stack, acceptor, (void*)(intptr_t)listener), 0);
  pthread_t* threads = calloc((size_t)clients, sizeof *threads);
  for (long i = 0; i < clients; ++i)
    CHECK_RC(pthread_create(&threads[i], &small_stack, client, (void*)i), 0);
  long long verified = 0, expected = 0;
  for (long i = 0; i < clients; ++i) {
    void* r;
    CHECK_RC(pthread_join(threads[i], &r), 0);
    verified += (long)r;
    expected += (long long)message_size(i);
  }
  CHECK_RC(pthread_join(accepting, NULL), 0);
  CHECK_EQ(verified, expected);
  printf("%ld clients, %lld bytes echoed and verified\n", clients, verified);
  CHECK_EQ(close(listener), 0);
  report_os_threads();
  return 0;
}
