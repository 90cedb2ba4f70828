// The diagnostic writer: every byte arrives, through short writes and EINTR, errno is left as it
// was, and the parts of a message are joined exactly whatever their length.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "diagnostic_output.h"

using namespace greenrun;

namespace {

std::string contents(int fd) {
  std::string text;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  return text;
}

void on_alarm(int) {}

}  // namespace

TEST_CASE("diagnostic_output: a large buffer arrives whole while signals interrupt the write") {
  // A pipe drained slowly by another thread and a timer signal every millisecond without
  // SA_RESTART: the write returns short counts and EINTR, and must go on after each.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  struct sigaction act {}, old {};
  act.sa_handler = &on_alarm;
  sigemptyset(&act.sa_mask);
  REQUIRE(sigaction(SIGALRM, &act, &old) == 0);
  std::string sent(4 << 20, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 23);
  std::string received;
  std::thread reader([&] {
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm, nullptr);  // the writer takes the signals
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) {
      received.append(buf, static_cast<size_t>(n));
      if (received.size() % (256 << 10) < sizeof buf) usleep(2000);
    }
  });
  itimerval every_ms{{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &every_ms, nullptr);
  errno = 0;
  rt::write_diagnostic(fds[1], sent.data(), sent.size());
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  CHECK(errno == 0);
  close(fds[1]);
  reader.join();
  close(fds[0]);
  sigaction(SIGALRM, &old, nullptr);
  CHECK(received.size() == sent.size());
  CHECK(received == sent);
}

TEST_CASE("diagnostic_output: a failed write leaves errno as it was") {
  errno = ENOENT;
  rt::write_diagnostic(-1, "lost\n", 5);
  CHECK(errno == ENOENT);
  rt::print_diagnostic(-1, "lost %d\n", 1);
  CHECK(errno == ENOENT);
}

TEST_CASE("diagnostic_output: parts are joined exactly, longer than the stack buffer too") {
  int fd = memfd_create("parts", 0);
  REQUIRE(fd >= 0);
  std::string long_part(3000, 'x');
  rt::write_diagnostic(fd, {"greenrun: ", "GREENRUN_STATS", "=", long_part.c_str(), "\n"});
  rt::write_diagnostic(fd, {"", "short\n"});
  CHECK(contents(fd) == "greenrun: GREENRUN_STATS=" + long_part + "\nshort\n");
  close(fd);
}

TEST_CASE("diagnostic_output: print_diagnostic formats, and cuts at 511 bytes") {
  int fd = memfd_create("print", 0);
  REQUIRE(fd >= 0);
  rt::print_diagnostic(fd, "greenrun: %s (id %d)\n", "worker", 7);
  CHECK(contents(fd) == "greenrun: worker (id 7)\n");
  REQUIRE(ftruncate(fd, 0) == 0);
  lseek(fd, 0, SEEK_SET);
  std::string long_text(2000, 'y');
  rt::print_diagnostic(fd, "%s", long_text.c_str());
  CHECK(contents(fd) == std::string(511, 'y'));
  close(fd);
}
