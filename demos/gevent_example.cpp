// gevent's first examples in C++: spawn a few jobs and joinall them, cut a slow one short with
// a Timeout, and run jobs through a Pool that feeds a Queue. The jobs sleep where gevent's
// would fetch: all of them wait at once, on one OS thread.
#include <greenrun.hpp>

#include <cstdio>
#include <string>

using namespace greenrun;

std::string fetch(std::string url, double seconds) {  // stands in for a request
  sleep(seconds);
  return url + ": 200 OK";
}

int main() {
  std::vector<Greenlet> jobs = {spawn(fetch, "example.com", 0.2), spawn(fetch, "python.org", 0.1)};
  joinall(jobs, /*timeout=*/2);  // both wait at once: 0.2 s in all, not 0.3 s
  for (const Greenlet& job : jobs) std::puts(std::any_cast<std::string>(job.get()).c_str());

  try {
    Timeout limit(0.05);  // raises TimeoutError in this block once 0.05 s have passed
    fetch("slow.example", 10);
  } catch (const TimeoutError&) { std::puts("slow.example: gave up after 0.05 s"); }

  Queue<std::string> results;
  Pool pool(2);  // at most two fetches at a time
  for (const char* url : {"a.example", "b.example", "c.example"})
    pool.spawn([&results, url] { results.put(fetch(url, 0.1)); });
  pool.join();
  while (!results.empty()) std::puts(results.get().c_str());
}
