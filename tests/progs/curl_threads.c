/* libcurl easy handles in 100 threads against an HTTP server in the same program (a thread per
 * connection, written with fdopen, fgets and fprintf). Each thread fetches its own URL and
 * checks the body. Usage: curl_threads [hostname]: with "hostname" the URLs name this machine
 * (gethostname), so each fetch makes curl start a resolver thread for getaddrinfo (curl knows
 * "localhost" without looking it up); by default they use 127.0.0.1. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "progs.h"

enum { kFetches = 100 };

static int listener;
static int port;
static char host[256] = "127.0.0.1";

/* The body for /item/N: a few hundred bytes to a few kilobytes. */
static size_t make_body(int item, char* out, size_t room) {
  size_t n = 0;
  for (int line = 0; line < 10 + item % 40; ++line)
    n += (size_t)snprintf(out + n, room - n, "item %d line %d of the body\n", item, line);
  return n;
}

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  FILE* in = fdopen(fd, "r");
  FILE* out = fdopen(dup(fd), "w");
  CHECK_EQ(in != NULL && out != NULL, 1);
  char line[512];
  int item = -1;
  CHECK_EQ(fgets(line, sizeof line, in) != NULL, 1);
  CHECK_EQ(sscanf(line, "GET /item/%d HTTP/1.1", &item), 1);
  while (fgets(line, sizeof line, in) && strcmp(line, "\r\n") != 0) {
  }
  static const size_t room = 4096;
  char* body = malloc(room);
  size_t length = make_body(item, body, room);
  fprintf(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n", length);
  CHECK_EQ(fwrite(body, 1, length, out), length);
  free(body);
  CHECK_EQ(fclose(out), 0);
  CHECK_EQ(fclose(in), 0);
  return NULL;
}

static void* accept_all(void* arg) {
  (void)arg;
  pthread_t* servers = malloc(kFetches * sizeof *servers);
  for (int i = 0; i < kFetches; ++i) {
    int fd = accept(listener, NULL, NULL);
    CHECK_EQ(fd >= 0, 1);
    CHECK_RC(pthread_create(&servers[i], NULL, serve, (void*)(intptr_t)fd), 0);
  }
  for (int i = 0; i < kFetches; ++i) CHECK_RC(pthread_join(servers[i], NULL), 0);
  free(servers);
  return NULL;
}

struct Buffer {
  char* data;
  size_t length;
};

static size_t on_data(char* p, size_t size, size_t n, void* user) {
  struct Buffer* b = user;
  b->data = realloc(b->data, b->length + size * n + 1);
  memcpy(b->data + b->length, p, size * n);
  b->length += size * n;
  return size * n;
}

static void* fetch(void* arg) {
  int item = (int)(intptr_t)arg;
  char url[320];
  snprintf(url, sizeof url, "http://%s:%d/item/%d", host, port, item);
  struct Buffer b = {NULL, 0};
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V4);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    fprintf(stderr, "fetch %d: %s\n", item, curl_easy_strerror(rc));
    exit(99);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  CHECK_EQ(status, 200);
  curl_easy_cleanup(curl);
  char want[4096];
  size_t length = make_body(item, want, sizeof want);
  CHECK_EQ(b.length, length);
  CHECK_EQ(memcmp(b.data, want, length), 0);
  free(b.data);
  note_os_threads();
  return (void*)length;
}

int main(int argc, char** argv) {
  struct sockaddr_in address = {.sin_family = AF_INET};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int by_name = argc > 1 && strcmp(argv[1], "hostname") == 0;
  if (by_name) {
    /* Listen where the name leads (127.0.1.1 on Debian, or this machine's address). */
    CHECK_EQ(gethostname(host, sizeof host), 0);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo* found;
    if (getaddrinfo(host, NULL, &hints, &found) != 0) {
      printf("this machine's name does not resolve: nothing to test\n");
      return 0;
    }
    address.sin_addr = ((struct sockaddr_in*)found->ai_addr)->sin_addr;
    freeaddrinfo(found);
  }
  CHECK_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  listener = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(bind(listener, (struct sockaddr*)&address, sizeof address), 0);
  CHECK_EQ(listen(listener, kFetches), 0);
  socklen_t size = sizeof address;
  CHECK_EQ(getsockname(listener, (struct sockaddr*)&address, &size), 0);
  port = ntohs(address.sin_port);

  pthread_t acceptor, fetchers[kFetches];
  CHECK_RC(pthread_create(&acceptor, NULL, accept_all, NULL), 0);
  for (int i = 0; i < kFetches; ++i)
    CHECK_RC(pthread_create(&fetchers[i], NULL, fetch, (void*)(intptr_t)i), 0);
  long bytes = 0;
  for (int i = 0; i < kFetches; ++i) {
    void* r;
    CHECK_RC(pthread_join(fetchers[i], &r), 0);
    bytes += (long)r;
  }
  CHECK_RC(pthread_join(acceptor, NULL), 0);
  printf("fetches: %d, bodies checked: %ld bytes\n", kFetches, bytes);
  close(listener);
  curl_global_cleanup();
  if (by_name) {
    /* Lookups run on threads of their own under the preload too (the resolver's pool). */
    note_os_threads();
    property("os_threads_with_lookups", progs_max_os_threads);
  } else {
    report_os_threads();
  }
  return 0;
}
