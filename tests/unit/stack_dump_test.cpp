// The stack dump and the statistics, in-process through the API: a dump names each thread's
// state and the functions on its stack, and the counters move with what the threads do.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "greenrun.h"
#include "greenrun.hpp"
#include "hub.h"
#include "stats.h"

using namespace greenrun;

namespace {

// Static on purpose: libunwind names functions from the symbol table, not only exported ones.
[[gnu::noinline]] void wait_in_named_function(Event& event) {
  event.wait();
  asm volatile("");  // not a tail call: this frame stays on the stack
}

[[gnu::noinline]] void sleep_in_named_function() {
  greenrun::sleep(5);
  asm volatile("");
}

std::string dump_to_string(void (*dump)(int)) {
  int fd = memfd_create("dump", 0);
  REQUIRE(fd >= 0);
  dump(fd);
  std::string text;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fd);
  return text;
}

}  // namespace

TEST_CASE("stack_dump: parked threads show their state and the functions they wait in") {
  Event event;
  Greenlet waiter = spawn([&] { wait_in_named_function(event); });
  Greenlet sleeper = spawn([] { sleep_in_named_function(); });
  waiter.set_name("waiter");
  sleeper.set_name("sleeper");
  greenrun::sleep(0);  // both park

  std::string text = dump_to_string(&dump_threads);
  INFO(text);
  CHECK(text.find("greenrun: stack dump") == 0);
  CHECK(text.find("'main' (id 1): running (this thread)") != std::string::npos);
  CHECK(text.find("'waiter'") != std::string::npos);
  CHECK(text.find("waiting on an event at 0x") != std::string::npos);
  CHECK(text.find("wait_in_named_function") != std::string::npos);
  CHECK(text.find("'sleeper'") != std::string::npos);
  CHECK(text.find(": sleeping until +") != std::string::npos);
  CHECK(text.find("sleep_in_named_function") != std::string::npos);
  CHECK(text.find("greenrun: end of stack dump") != std::string::npos);

  event.set();
  sleeper.kill();
  CHECK(waiter.join(5));
  CHECK(sleeper.join(5));
}

TEST_CASE("stack_dump: the C entry point writes the same dump") {
  std::string text = dump_to_string(&greenrun_dump_threads);
  CHECK(text.find("greenrun: stack dump") == 0);
  CHECK(text.find("'main'") != std::string::npos);
}

TEST_CASE("stats: switches, threads and peak alive are counted") {
  rt::Hub& hub = rt::Hub::get();
  const rt::Stats before = hub.stats();
  std::uint64_t created = hub.threads_created();
  Greenlet a = spawn([] { greenrun::sleep(0.001); });
  Greenlet b = spawn([] { greenrun::sleep(0.001); });
  CHECK(a.join(5));
  CHECK(b.join(5));
  CHECK(hub.threads_created() == created + 2);
  CHECK(hub.stats().switches > before.switches);
  CHECK(hub.stats().peak_alive >= 3);  // main, the hub, and at least one of the two
}

TEST_CASE("stats: time parked counts park to wake, and a thread still parked up to the report") {
  rt::Hub& hub = rt::Hub::get();
  hub.stats().timing = true;
  Greenlet sleeper = spawn([] { greenrun::sleep(600); });  // parked throughout, deadline far off
  greenrun::sleep(0.2);  // main parks 200 ms; so does the sleeper meanwhile
  std::string text = dump_to_string(+[](int fd) { rt::print_stats(rt::Hub::get(), fd); });
  sleeper.kill();
  CHECK(sleeper.join(5));
  hub.stats().timing = false;
  INFO(text);
  std::size_t at = text.find("time parked");
  REQUIRE(at != std::string::npos);
  long ms = std::strtol(text.c_str() + at + sizeof "time parked", nullptr, 10);
  CHECK(ms >= 300);      // both 200 ms parks, the sleeper's counted while it still waits
  CHECK(ms < 100'000);   // never the 600 s deadline
}
