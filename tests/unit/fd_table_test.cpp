// The fd table: parking on a descriptor, sharing one watcher between a reader and a writer,
// waiting on several descriptors at once, and close while waiting.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fd_table.h"
#include "greenrun.hpp"
#include "hub.h"

using namespace greenrun;

namespace {

rt::FdTable& fds() { return rt::Hub::get().fds(); }

struct Pipe {
  Pipe() { REQUIRE(pipe2(fd, O_NONBLOCK) == 0); }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  int fd[2];
};

}  // namespace

TEST_CASE("fd_table: a descriptor is classified once, by kind and flags") {
  Pipe p;
  int file = open("/proc/self/status", O_RDONLY);
  REQUIRE(file >= 0);
  CHECK(fds().entry(p.fd[0])->kind == rt::FdKind::pollable);
  CHECK(fds().entry(p.fd[0])->nonblocking);
  CHECK(fds().entry(p.fd[0])->mode == rt::IoMode::nowait);
  CHECK(fds().may_be_shared(*fds().entry(p.fd[0])));  // not seen created: another may hold it
  CHECK(fds().entry(file)->kind == rt::FdKind::always_ready);
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(fds().entry(sv[0])->mode == rt::IoMode::dontwait);
  CHECK_FALSE(fds().entry(sv[0])->nonblocking);
  for (int f : {file, sv[0], sv[1]}) {
    fds().forget(f);
    close(f);
  }
}

TEST_CASE("fd_table: a descriptor made here is private until a child may share it") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  rt::FdEntry& e = fds().adopt_new(sv[0], rt::FdKind::socket, false);
  CHECK_FALSE(fds().may_be_shared(e));
  fds().duplicate(sv[0], sv[1]);  // (a stand-in: sv[1] now counts as a dup of sv[0])
  fds().sent_away(sv[1]);
  CHECK(fds().may_be_shared(e));  // the description went to another process
  rt::FdEntry& fresh = fds().adopt_new(sv[0], rt::FdKind::socket, false);
  CHECK_FALSE(fds().may_be_shared(fresh));
  fds().children_may_share();
  CHECK(fds().may_be_shared(fresh));
  for (int f : sv) {
    fds().forget(f);
    close(f);
  }
}

TEST_CASE("fd_table: parking on a blocking descriptor leaves its flags as they were") {
  int fd[2];
  REQUIRE(pipe(fd) == 0);
  rt::FdEntry& e = *fds().entry(fd[0]);
  Greenlet writer = spawn([&] {
    greenrun::sleep(0.01);
    CHECK(write(fd[1], "x", 1) == 1);
  });
  CHECK(fcntl(fd[0], F_GETFL) == O_RDONLY);
  CHECK(fds().wait(e, rt::Want::read, rt::kNever) == 0);
  CHECK(fcntl(fd[0], F_GETFL) == O_RDONLY);  // no O_NONBLOCK: a child sharing it would see it
  writer.join();
  for (int f : fd) {
    fds().forget(f);
    close(f);
  }
}

TEST_CASE("fd_table: a reader parks until another green thread writes") {
  Pipe p;
  rt::FdEntry& e = *fds().entry(p.fd[0]);
  char got = 0;
  Greenlet reader = spawn([&] {
    int rc = fds().wait(e, rt::Want::read, rt::kNever);
    CHECK(rc == 0);
    CHECK(read(p.fd[0], &got, 1) == 1);
  });
  greenrun::sleep(0.01);
  CHECK_FALSE(reader.dead());  // still parked: nothing to read yet
  CHECK(write(p.fd[1], "x", 1) == 1);
  reader.join();
  CHECK(got == 'x');
  fds().forget(p.fd[0]);
}

TEST_CASE("fd_table: a reader and a writer wait on one socket at once") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  char block[4096];
  std::memset(block, 'a', sizeof block);
  while (write(sv[0], block, sizeof block) > 0) {
  }  // fill sv[0] until writing would block
  rt::FdEntry& e = *fds().entry(sv[0]);
  bool reader_woke = false, writer_woke = false;
  Greenlet reader = spawn([&] { reader_woke = fds().wait(e, rt::Want::read, rt::kNever) == 0; });
  Greenlet writer = spawn([&] { writer_woke = fds().wait(e, rt::Want::write, rt::kNever) == 0; });
  greenrun::sleep(0.01);
  CHECK_FALSE(reader_woke);
  CHECK_FALSE(writer_woke);
  CHECK(write(sv[1], "r", 1) == 1);  // sv[0] becomes readable
  reader.join(1);
  CHECK(reader_woke);
  CHECK_FALSE(writer_woke);
  char drain[1 << 16];
  while (read(sv[1], drain, sizeof drain) > 0) {
  }  // sv[0] becomes writable
  writer.join(1);
  CHECK(writer_woke);
  fds().forget(sv[0]);
  close(sv[0]);
  close(sv[1]);
}

TEST_CASE("fd_table: wait times out at its deadline") {
  Pipe p;
  rt::Nanos start = rt::monotonic_now();
  int rc = fds().wait(*fds().entry(p.fd[0]), rt::Want::read, start + 30'000'000);
  CHECK(rc == -ETIMEDOUT);
  CHECK(rt::monotonic_now() - start >= 30'000'000);
  fds().forget(p.fd[0]);
}

TEST_CASE("fd_table: wait_any wakes for whichever descriptor is ready") {
  Pipe a, b;
  rt::FdTable::Interest interests[] = {{fds().entry(a.fd[0]), rt::Want::read},
                                       {fds().entry(b.fd[0]), rt::Want::read}};
  Greenlet writer = spawn([&] {
    greenrun::sleep(0.01);
    CHECK(write(b.fd[1], "b", 1) == 1);
  });
  CHECK(fds().wait_any(interests, 2, rt::kNever) == 0);
  char c = 0;
  CHECK(read(b.fd[0], &c, 1) == 1);
  CHECK(c == 'b');
  writer.join();
  fds().forget(a.fd[0]);
  fds().forget(b.fd[0]);
}

TEST_CASE("fd_table: forgetting a descriptor wakes its waiters with EBADF") {
  Pipe p;
  int rc = 0;
  Greenlet reader = spawn([&] { rc = fds().wait(*fds().entry(p.fd[0]), rt::Want::read, rt::kNever); });
  greenrun::sleep(0.01);
  fds().forget(p.fd[0]);  // what the close() shim does before closing
  close(p.fd[0]);
  p.fd[0] = -1;
  reader.join(1);
  CHECK(reader.dead());
  CHECK(rc == -EBADF);
}
