// greenrun::Greenlet against the behaviours the greenlet documentation describes: explicit
// switches passing values both ways, the parent tree, death and return values, exceptions,
// throw, GreenletExit, settrace, and garbage collection of suspended greenlets.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <any>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "greenrun.hpp"
#include "test_support.h"
#include "hub.h"

using greenrun::Greenlet;
using greenrun::GreenletError;
using greenrun::GreenletExit;

using test_support::as;
using test_support::Cleanup;

namespace {

}  // namespace

TEST_CASE("greenlet: the documentation's first example prints 12, 56, 34 and never 78") {
  // from greenlet import greenlet
  // def test1(): print(12); gr2.switch(); print(34)
  // def test2(): print(56); gr1.switch(); print(78)
  std::string out;
  {
    Greenlet gr1, gr2;
    gr1 = Greenlet([&](std::any) -> std::any {
      out += "12 ";
      gr2.switch_to();
      out += "34 ";
      return {};
    });
    gr2 = Greenlet([&](std::any) -> std::any {
      out += "56 ";
      gr1.switch_to();
      out += "78 ";
      return {};
    });
    gr1.switch_to();
    CHECK(out == "12 56 34 ");
    CHECK(gr1.dead());
    CHECK_FALSE(gr2.dead());  // suspended in gr1.switch_to() for good
    CHECK(gr2.started());
  }  // dropping gr2 unwinds it with GreenletExit: 78 is still not printed
  CHECK(out == "12 56 34 ");
}

TEST_CASE("greenlet: switch_to passes values both ways between a producer and a consumer") {
  // The documentation's keyboard example: the consumer asks its parent for the next character
  // with parent().switch_to(), the producer feeds characters with consumer.switch_to(c).
  std::vector<std::string> lines;
  Greenlet consumer([&](std::any first) -> std::any {
    Greenlet parent = Greenlet::current().parent();
    auto read_next_char = [&](int echoed) { return as<char>(parent.switch_to(echoed)); };
    char c = as<char>(first);
    int count = 0;
    std::string line;
    for (;;) {
      line += c;
      ++count;
      if (c == '\n') {
        lines.push_back(line);
        if (line == "quit\n") return std::string("quit after ") + std::to_string(count);
        line.clear();
      }
      c = read_next_char(count);  // hands back how many characters it has seen
    }
  });
  std::vector<int> acks;
  std::any last;
  for (char c : std::string("hi\nquit\nignored")) {
    last = consumer.switch_to(c);
    if (consumer.dead()) break;
    acks.push_back(as<int>(last));
  }
  CHECK(lines == std::vector<std::string>{"hi\n", "quit\n"});
  CHECK(acks == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
  CHECK(as<std::string>(last) == "quit after 8");
  CHECK(consumer.dead());
}

TEST_CASE("greenlet: a new greenlet's parent is its creator; set_parent refuses cycles") {
  Greenlet main = Greenlet::current();
  Greenlet outer, inner;
  outer = Greenlet([&](std::any) -> std::any {
    inner = Greenlet([](std::any) -> std::any { return {}; });
    return {};
  });
  CHECK(outer.parent() == main);
  outer.switch_to();
  REQUIRE(inner.valid());
  CHECK(inner.parent() == outer);  // created inside outer

  Greenlet a([](std::any) -> std::any { return {}; });
  Greenlet b([](std::any) -> std::any { return {}; });
  b.set_parent(a);
  CHECK(b.parent() == a);
  CHECK_THROWS_AS(a.set_parent(b), GreenletError);  // a -> b -> a
  CHECK_THROWS_AS(a.set_parent(a), GreenletError);
  CHECK(a.parent() == main);  // unchanged by the refused calls
  Greenlet c([](std::any) -> std::any { return {}; }, &b);  // parent given at creation
  CHECK(c.parent() == b);
  CHECK_THROWS_AS(a.set_parent(c), GreenletError);  // a -> c -> b -> a
}

TEST_CASE("greenlet: current() is the running greenlet inside and the main one outside") {
  Greenlet main = Greenlet::current();
  CHECK(main.valid());
  CHECK(main.started());
  CHECK_FALSE(main.dead());
  CHECK(Greenlet::current() == main);
  Greenlet g;
  Greenlet seen_inside, seen_parent;
  g = Greenlet([&](std::any) -> std::any {
    seen_inside = Greenlet::current();
    seen_parent = Greenlet::current().parent();
    return {};
  });
  g.switch_to();
  CHECK(seen_inside == g);
  CHECK(seen_parent == main);
  CHECK(Greenlet::current() == main);
}

TEST_CASE("greenlet: a finished greenlet is dead and its return value reaches the parent") {
  Greenlet g([](std::any arg) -> std::any { return as<int>(arg) * 2; });
  CHECK_FALSE(g.started());
  CHECK_FALSE(g.dead());
  CHECK_FALSE(static_cast<bool>(g));
  std::any v = g.switch_to(21);
  CHECK(as<int>(v) == 42);
  CHECK(g.dead());
  CHECK(g.started());
  CHECK_FALSE(static_cast<bool>(g));
}

TEST_CASE("greenlet: an exception escaping a greenlet is raised in its parent") {
  bool after = false;
  Greenlet g([&](std::any) -> std::any {
    throw std::runtime_error("boom");
    after = true;
    return {};
  });
  CHECK_THROWS_WITH_AS(g.switch_to(), "boom", std::runtime_error);
  CHECK(g.dead());
  CHECK_FALSE(after);
}

TEST_CASE("greenlet: switching to a dead greenlet switches to its parent") {
  Greenlet main = Greenlet::current();
  std::vector<std::string> parent_got;
  Greenlet p([&](std::any) -> std::any {
    parent_got.push_back(as<std::string>(main.switch_to(std::string("p suspended"))));
    parent_got.push_back(as<std::string>(main.switch_to(std::string("p again"))));
    return std::string("p done");
  });
  CHECK(as<std::string>(p.switch_to()) == "p suspended");

  Greenlet g([](std::any) -> std::any { return std::string("g result"); }, &p);
  // g's return value goes to its parent p, which answers main.
  CHECK(as<std::string>(g.switch_to()) == "p again");
  CHECK(g.dead());
  REQUIRE(parent_got.size() == 1);
  CHECK(parent_got[0] == "g result");

  // g is dead: the switch lands in p, which finishes and returns to main.
  CHECK(as<std::string>(g.switch_to(std::string("sent to dead g"))) == "p done");
  REQUIRE(parent_got.size() == 2);
  CHECK(parent_got[1] == "sent to dead g");
  CHECK(p.dead());

  // g and p are dead, and main is their ancestor and the caller: the value comes straight back.
  CHECK(as<int>(g.switch_to(7)) == 7);
}

TEST_CASE("greenlet: throw_into raises in a suspended greenlet, which may catch it") {
  Greenlet main = Greenlet::current();
  bool resumed_normally = false;
  Greenlet g([&](std::any) -> std::any {
    try {
      main.switch_to(1);
      resumed_normally = true;
    } catch (const std::runtime_error& e) {
      return std::string("caught ") + e.what();
    }
    return {};
  });
  CHECK(as<int>(g.switch_to()) == 1);
  std::any v = g.throw_into(std::make_exception_ptr(std::runtime_error("thrown in")));
  CHECK(as<std::string>(v) == "caught thrown in");
  CHECK_FALSE(resumed_normally);
  CHECK(g.dead());
}

TEST_CASE("greenlet: throw_into a suspended greenlet that does not catch raises in the parent") {
  Greenlet main = Greenlet::current();
  bool cleaned = false;
  Greenlet g([&](std::any) -> std::any {
    Cleanup c(cleaned);
    main.switch_to();
    return {};
  });
  g.switch_to();
  CHECK_THROWS_WITH_AS(g.throw_into(std::make_exception_ptr(std::out_of_range("oops"))), "oops",
                       std::out_of_range);
  CHECK(cleaned);
  CHECK(g.dead());
}

TEST_CASE("greenlet: throw_into an unstarted greenlet kills it without running it") {
  bool ran = false;
  Greenlet g([&](std::any) -> std::any {
    ran = true;
    return {};
  });
  CHECK_THROWS_WITH_AS(g.throw_into(std::make_exception_ptr(std::runtime_error("early"))),
                       "early", std::runtime_error);
  CHECK_FALSE(ran);
  CHECK(g.dead());

  Greenlet h([&](std::any) -> std::any {
    ran = true;
    return {};
  });
  std::any v = h.throw_into();  // GreenletExit: not raised here, it is the value
  CHECK(v.type() == typeid(GreenletExit));
  CHECK_FALSE(ran);
  CHECK(h.dead());
}

TEST_CASE("greenlet: GreenletExit escaping a greenlet comes back as its value, not raised") {
  Greenlet main = Greenlet::current();
  bool cleaned = false;
  Greenlet g([&](std::any) -> std::any {
    Cleanup c(cleaned);
    main.switch_to();
    return std::string("not reached");
  });
  g.switch_to();
  std::any v;
  CHECK_NOTHROW(v = g.throw_into());
  CHECK(v.type() == typeid(GreenletExit));
  CHECK(cleaned);
  CHECK(g.dead());

  Greenlet self_exit([](std::any) -> std::any { throw GreenletExit{}; });
  CHECK_NOTHROW(v = self_exit.switch_to());
  CHECK(v.type() == typeid(GreenletExit));
  CHECK(self_exit.dead());
}

TEST_CASE("greenlet: settrace sees every switch and throw, in order") {
  struct Event {
    std::string what;
    std::uint64_t from, to;
    bool operator==(const Event& o) const {
      return what == o.what && from == o.from && to == o.to;
    }
  };
  std::vector<Event> events;
  greenrun::TraceFunction previous =
      greenrun::settrace([&](const char* what, const Greenlet& from, const Greenlet& to) {
        events.push_back({what, from.id(), to.id()});
      });
  Greenlet main = Greenlet::current();
  Greenlet g([&](std::any) -> std::any {
    main.switch_to();
    return {};
  });
  g.switch_to();
  try {
    g.throw_into(std::make_exception_ptr(std::runtime_error("traced")));
  } catch (const std::runtime_error&) {
  }
  greenrun::TraceFunction mine = greenrun::settrace(std::move(previous));
  CHECK(static_cast<bool>(mine));
  const std::uint64_t m = main.id(), t = g.id();
  REQUIRE(events.size() == 4);
  CHECK(events[0] == Event{"switch", m, t});
  CHECK(events[1] == Event{"switch", t, m});
  CHECK(events[2] == Event{"throw", m, t});
  CHECK(events[3] == Event{"throw", t, m});  // the exception left g for main

  Greenlet quiet([](std::any) -> std::any { return {}; });
  quiet.switch_to();
  CHECK(events.size() == 4);  // tracing is off again
}

TEST_CASE("greenlet: settrace sees the death of a greenlet nobody holds a handle to") {
  // g dies (killed) while its only handle is gone and its parent p waits in a switch: the
  // trace of that last switch must not free g while g still runs.
  Greenlet main = Greenlet::current();
  const std::size_t alive_before = greenrun::rt::Hub::get().threads_alive();
  Greenlet p([&](std::any) -> std::any {
    std::any from_g = main.switch_to();
    return std::string(from_g.type() == typeid(GreenletExit) ? "p got GreenletExit" : "p got ?");
  });
  p.switch_to();  // p waits in main.switch_to()
  Greenlet g([&](std::any) -> std::any {
    main.switch_to();
    return std::string("g not killed");
  }, &p);
  g.switch_to();  // g waits in main.switch_to() too
  std::uint64_t g_id = g.id();
  g.kill(false);  // scheduled to die; not suspended in a switch any more
  g = Greenlet();  // the last handle: g is neither dead nor suspended, so it is just dropped
  std::vector<std::string> events;
  greenrun::TraceFunction previous =
      greenrun::settrace([&](const char* what, const Greenlet& from, const Greenlet& to) {
        events.push_back(std::string(what) + (from.id() == g_id ? " g" : " ?") +
                         (to == p ? "->p" : "->?"));
      });
  greenrun::sleep(0.001);  // g runs, dies of GreenletExit, and hands that to p
  greenrun::settrace(std::move(previous));
  CHECK(events == std::vector<std::string>{"switch g->p"});
  CHECK(p.dead());
  CHECK(as<std::string>(p.get()) == "p got GreenletExit");
  CHECK(greenrun::rt::Hub::get().threads_alive() == alive_before + 1);  // g freed, p held here
}

TEST_CASE("greenlet: dropping the last handle of a suspended greenlet raises GreenletExit there") {
  Greenlet main = Greenlet::current();
  bool destructor_ran = false, catch_ran = false, resumed = false;
  {
    Greenlet g([&](std::any) -> std::any {
      Cleanup local(destructor_ran);
      try {
        main.switch_to();
        resumed = true;
      } catch (const GreenletExit&) {
        catch_ran = true;
        throw;
      }
      return {};
    });
    g.switch_to();
    CHECK_FALSE(destructor_ran);
    CHECK_NOTHROW(g = Greenlet());  // drops the last handle, here
    CHECK(destructor_ran);
    CHECK(catch_ran);
  }
  CHECK_FALSE(resumed);  // the exception came out of main.switch_to(), not a value
  CHECK(Greenlet::current() == main);
}

TEST_CASE("greenlet: a greenlet may swallow the GreenletExit of its destruction and return") {
  Greenlet main = Greenlet::current();
  bool swallowed = false;
  {
    Greenlet g([&](std::any) -> std::any {
      try {
        main.switch_to();
      } catch (const GreenletExit&) {
        swallowed = true;
      }
      return std::string("finished anyway");
    });
    g.switch_to();
    CHECK_NOTHROW(g = Greenlet());
  }
  CHECK(swallowed);
}

TEST_CASE("greenlet: switching to a greenlet of another OS thread raises GreenletError") {
  std::promise<Greenlet> made;
  std::promise<void> done_with_it;
  std::thread owner([&] {
    Greenlet g([](std::any) -> std::any { return 1; });
    made.set_value(g);
    done_with_it.get_future().wait();
    CHECK_FALSE(g.started());  // nobody could start it from the other thread
  });
  Greenlet foreign = made.get_future().get();
  Greenlet mine([](std::any) -> std::any { return {}; });  // this thread has a hub too
  CHECK_THROWS_AS(foreign.switch_to(), GreenletError);
  CHECK_THROWS_AS(foreign.throw_into(), GreenletError);
  CHECK_THROWS_AS(mine.set_parent(foreign), GreenletError);

  // A thread that never used greenrun before gets the same error, not a crash.
  std::thread stranger([&] { CHECK_THROWS_AS(foreign.switch_to(), GreenletError); });
  stranger.join();

  foreign = Greenlet();  // give the owner back the only handle before it drops it
  done_with_it.set_value();
  owner.join();
}

TEST_CASE("greenlet: a greenlet below the minimum stack size is refused") {
  CHECK_THROWS_AS(Greenlet([](std::any) -> std::any { return {}; }, nullptr,
                           greenrun::minimum_stack_size() - 1),
                  std::invalid_argument);
  Greenlet ok([](std::any) -> std::any { return 5; }, nullptr, greenrun::minimum_stack_size());
  CHECK(as<int>(ok.switch_to()) == 5);
}
