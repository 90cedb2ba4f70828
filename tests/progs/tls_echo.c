/* OpenSSL over loopback in one process: an echo server with a thread per connection and
 * several client threads that send messages of many sizes over TLS and check every byte that
 * comes back. The key and self-signed certificate are made at start into a temporary directory
 * (and loaded from there, as a server would); the clients verify the server against it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "progs.h"

enum { kClients = 8, kMessages = 24, kMaxMessage = 40000 };

static SSL_CTX* server_ctx;
static SSL_CTX* client_ctx;
static int listener;
static struct sockaddr_in address;

static void tls_fail(const char* what) {
  fprintf(stderr, "%s failed:\n", what);
  ERR_print_errors_fp(stderr);
  exit(99);
}

/* An EC key and a certificate for 127.0.0.1, signed by itself, written as PEM files. */
static void make_certificate(const char* key_path, const char* cert_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) tls_fail("EVP_EC_gen");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char*)"127.0.0.1", -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
  const char* extensions[][2] = {{"subjectAltName", "IP:127.0.0.1"},
                                 {"basicConstraints", "critical,CA:TRUE"}};
  for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; ++i) {
    X509_EXTENSION* ext = X509V3_EXT_conf(NULL, &v3, extensions[i][0], extensions[i][1]);
    if (!ext) tls_fail("X509V3_EXT_conf");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(cert, key, EVP_sha256())) tls_fail("X509_sign");
  FILE* f = fopen(key_path, "w");
  CHECK_EQ(f != NULL, 1);
  CHECK_EQ(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
  CHECK_EQ(fclose(f), 0);
  f = fopen(cert_path, "w");
  CHECK_EQ(f != NULL, 1);
  CHECK_EQ(PEM_write_X509(f, cert), 1);
  CHECK_EQ(fclose(f), 0);
  X509_free(cert);
  EVP_PKEY_free(key);
}

static void make_contexts(const char* key_path, const char* cert_path) {
  server_ctx = SSL_CTX_new(TLS_server_method());
  if (SSL_CTX_use_certificate_chain_file(server_ctx, cert_path) != 1 ||
      SSL_CTX_use_PrivateKey_file(server_ctx, key_path, SSL_FILETYPE_PEM) != 1)
    tls_fail("loading the server's certificate");
  client_ctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_load_verify_locations(client_ctx, cert_path, NULL) != 1)
    tls_fail("SSL_CTX_load_verify_locations");
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
}

static void write_all(SSL* ssl, const unsigned char* p, int n) {
  while (n > 0) {
    int w = SSL_write(ssl, p, n);
    if (w <= 0) tls_fail("SSL_write");
    p += w;
    n -= w;
  }
}

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  SSL* ssl = SSL_new(server_ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) tls_fail("SSL_accept");
  unsigned char buf[16384];
  int n;
  while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) write_all(ssl, buf, n);
  CHECK_EQ(SSL_get_error(ssl, n), SSL_ERROR_ZERO_RETURN);  /* the client's close_notify */
  SSL_shutdown(ssl);
  SSL_free(ssl);
  CHECK_EQ(close(fd), 0);
  note_os_threads();
  return NULL;
}

static void* accept_all(void* arg) {
  (void)arg;
  pthread_t servers[kClients];
  for (int i = 0; i < kClients; ++i) {
    int fd = accept(listener, NULL, NULL);
    CHECK_EQ(fd >= 0, 1);
    CHECK_RC(pthread_create(&servers[i], NULL, serve, (void*)(intptr_t)fd), 0);
  }
  for (int i = 0; i < kClients; ++i) CHECK_RC(pthread_join(servers[i], NULL), 0);
  return NULL;
}

static size_t message_size(int client, int m) {
  static const size_t sizes[] = {1, 17, 100, 1000, 4096, 16384, 16385, 33333, kMaxMessage};
  return sizes[(size_t)(client + m) % (sizeof sizes / sizeof sizes[0])];
}

static void* client(void* arg) {
  int id = (int)(intptr_t)arg;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(fd, (struct sockaddr*)&address, sizeof address), 0);
  SSL* ssl = SSL_new(client_ctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) tls_fail("SSL_connect");
  CHECK_EQ(SSL_get_verify_result(ssl), X509_V_OK);
  unsigned char* sent = malloc(kMaxMessage);
  unsigned char* got = malloc(kMaxMessage);
  long bytes = 0;
  for (int m = 0; m < kMessages; ++m) {
    size_t size = message_size(id, m);
    for (size_t i = 0; i < size; ++i) sent[i] = (unsigned char)(id * 131 + m * 31 + i * 7);
    write_all(ssl, sent, (int)size);
    size_t have = 0;
    while (have < size) {
      int n = SSL_read(ssl, got + have, (int)(size - have));
      if (n <= 0) tls_fail("SSL_read");
      have += (size_t)n;
    }
    if (memcmp(sent, got, size) != 0) {
      fprintf(stderr, "client %d: message %d (%zu bytes) came back different\n", id, m, size);
      exit(99);
    }
    bytes += (long)size;
  }
  free(sent);
  free(got);
  CHECK_EQ(SSL_shutdown(ssl), 0);  /* close_notify sent; now wait for the server's */
  CHECK_EQ(SSL_shutdown(ssl), 1);
  SSL_free(ssl);
  CHECK_EQ(close(fd), 0);
  note_os_threads();
  return (void*)bytes;
}

int main(void) {
  char dir[] = "/tmp/greenrun-tls-XXXXXX";
  CHECK_EQ(mkdtemp(dir) != NULL, 1);
  char key_path[64], cert_path[64];
  snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
  snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
  make_certificate(key_path, cert_path);
  make_contexts(key_path, cert_path);
  unlink(key_path);
  unlink(cert_path);
  rmdir(dir);

  listener = loopback_listener(0, 64, &address);

  pthread_t acceptor, clients[kClients];
  CHECK_RC(pthread_create(&acceptor, NULL, accept_all, NULL), 0);
  for (int i = 0; i < kClients; ++i)
    CHECK_RC(pthread_create(&clients[i], NULL, client, (void*)(intptr_t)i), 0);
  long total = 0;
  for (int i = 0; i < kClients; ++i) {
    void* bytes;
    CHECK_RC(pthread_join(clients[i], &bytes), 0);
    total += (long)bytes;
  }
  CHECK_RC(pthread_join(acceptor, NULL), 0);
  printf("clients: %d, messages: %d, bytes echoed and checked: %ld\n", kClients,
         kClients * kMessages, total);
  close(listener);
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
  report_os_threads();
  return 0;
}
