// greenrun's C++ API: greenlet-style explicit switching and gevent-style cooperative threads.
// Everything here belongs to the calling OS thread's hub: a green thread runs only on the OS
// thread that created it, and handing one to another OS thread is refused with an error.
// Greenlets and spawned green threads are coroutines inside that OS thread and share its
// thread-local storage (thread_local, __thread, pthread_self), as Python's greenlets share
// their thread's; errno and the C++ exception state are kept per greenlet across switches.
// (The preload's pthreads, by contrast, each get thread-local storage of their own.)
#pragma once
#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#define GREENRUN_API __attribute__((visibility("default")))

namespace greenrun {

namespace rt {
struct GreenThread;
struct Waiter;
}  // namespace rt

// Raised inside a green thread that is being killed or destroyed while suspended. It unwinds
// the thread's stack (running destructors and catch blocks) and is not passed on to the parent.
// Deliberately not a std::exception, so `catch (const std::exception&)` does not swallow it.
struct GREENRUN_API GreenletExit {};

// Raised where a wait can never end: every green thread is blocked and nothing can wake them.
struct GREENRUN_API LoopExit : std::runtime_error {
  LoopExit() : std::runtime_error("this operation would block forever (every green thread is blocked)") {}
};

// Misuse of the API: joining yourself, switching to a thread of another OS thread, and so on.
struct GREENRUN_API GreenletError : std::logic_error {
  using std::logic_error::logic_error;
};

// A handle to a green thread (greenlet). Copies share the thread. When the last handle to a
// started, unfinished greenlet goes away, GreenletExit is raised in it so its cleanup runs.
// Threads made by spawn() keep themselves alive until they finish.
class GREENRUN_API Greenlet {
 public:
  using Run = std::function<std::any(std::any)>;

  Greenlet() = default;
  // A greenlet that will call run(value) on the first switch to it. Its parent is the creator
  // unless given. stack_size 0 uses the default; below the minimum, GreenletError is raised.
  explicit Greenlet(Run run, const Greenlet* parent = nullptr, std::size_t stack_size = 0);
  Greenlet(const Greenlet& other);
  Greenlet(Greenlet&& other) noexcept;
  Greenlet& operator=(Greenlet other) noexcept;
  ~Greenlet();

  // Switches to this greenlet, handing it `value`: the argument of run() on the first switch,
  // else the return value of the switch that suspended it. Returns the value the next switch
  // back here hands over. Switching to a dead greenlet switches to its parent.
  std::any switch_to(std::any value = {});
  // Switches to this greenlet and raises `error` there at once. An unstarted greenlet dies
  // without running (GreenletExit then comes back as the value, anything else is raised here).
  std::any throw_into(std::exception_ptr error);
  std::any throw_into() { return throw_into(std::make_exception_ptr(GreenletExit{})); }

  Greenlet parent() const;
  // Refused (GreenletError) when it would make a cycle or cross OS threads.
  void set_parent(const Greenlet& parent);

  bool started() const;
  bool dead() const;
  explicit operator bool() const;  // started and not dead, like greenlet's __bool__
  bool valid() const { return thread_ != nullptr; }
  std::uint64_t id() const;
  std::string name() const;
  void set_name(const std::string& name);

  // gevent-style, for any greenlet: wait for it to finish (false on timeout; negative = forever).
  bool join(double timeout = -1) const;
  // Raises GreenletExit (or `error`) in it; with block, waits for it to die (up to timeout).
  void kill(bool block = true, double timeout = -1, std::exception_ptr error = nullptr) const;
  bool ready() const { return dead(); }
  bool successful() const;
  std::exception_ptr exception() const;
  // Waits like join, then returns the result or raises what the greenlet raised; raises
  // TimeoutError (with a null source) when the timeout passes first.
  std::any get(double timeout = -1) const;

  static Greenlet current();
  friend bool operator==(const Greenlet& a, const Greenlet& b) { return a.thread_ == b.thread_; }

  rt::GreenThread* native() const { return thread_; }
  explicit Greenlet(rt::GreenThread* adopt_reference);  // takes over one reference

 private:
  rt::GreenThread* thread_ = nullptr;
};

// greenlet.settrace: called with ("switch" | "throw", origin, target) before every greenlet
// switch. Returns the previous callback. An empty function turns tracing off.
using TraceFunction = std::function<void(const char* event, const Greenlet& origin,
                                         const Greenlet& target)>;
GREENRUN_API TraceFunction settrace(TraceFunction trace);
GREENRUN_API TraceFunction gettrace();

// ---- gevent-style scheduling -----------------------------------------------------------

struct SpawnOptions {
  std::size_t stack_size = 0;  // 0: the hub's default
  const char* name = nullptr;
};

GREENRUN_API Greenlet spawn_any(Greenlet::Run body, const SpawnOptions& options = {});

// Starts fn(args...) in a new green thread, scheduled to run at the next switch.
template <class F, class... Args>
Greenlet spawn(F&& fn, Args&&... args) {
  return spawn_any([fn = std::forward<F>(fn),
                    ... args = std::forward<Args>(args)](std::any) mutable -> std::any {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, Args&...>>) {
      std::invoke(fn, args...);
      return {};
    } else {
      return std::any(std::invoke(fn, args...));
    }
  });
}

// Waits for all of them (or the timeout); returns those that finished.
GREENRUN_API std::vector<Greenlet> joinall(const std::vector<Greenlet>& threads,
                                           double timeout = -1);
GREENRUN_API void killall(const std::vector<Greenlet>& threads, bool block = true,
                          double timeout = -1);

// Parks the current green thread for `seconds`; sleep(0) lets every other ready thread run
// once. A negative or NaN duration raises std::invalid_argument.
GREENRUN_API void sleep(double seconds);
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> d) {
  sleep(std::chrono::duration<double>(d).count());
}

// Writes every green thread of this OS thread (state, wait, time in it, backtrace) to `fd`;
// the program goes on afterwards. The same dump GREENRUN_DUMP_SIGNAL triggers.
GREENRUN_API void dump_threads(int fd);

// The default stack size of green threads created later on this OS thread.
GREENRUN_API void set_default_stack_size(std::size_t bytes);
GREENRUN_API std::size_t minimum_stack_size();

class Timeout;
// What a Timeout raises in its thread when it expires.
struct GREENRUN_API TimeoutError : std::runtime_error {
  explicit TimeoutError(const Timeout* source)
      : std::runtime_error("timeout expired"), source(source) {}
  const Timeout* source;  // compare with the Timeout you made to tell yours from an outer one
};

// Raises TimeoutError in the thread that started it once `seconds` have passed, at whatever
// blocking call it is in (or its next one). Cancelled by cancel() or by its destructor, so it
// works as a scope guard:  { Timeout t(0.5); queue.get(); }
class GREENRUN_API Timeout {
 public:
  explicit Timeout(double seconds, bool start_now = true);
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout();
  void start();
  void cancel();
  bool pending() const;  // started and not yet fired or cancelled
  double seconds() const { return seconds_; }

  struct Node;  // the timer and what it raised; defined in gevent.cpp

 private:
  double seconds_;
  Node* node_;
};

// ---- synchronisation ---------------------------------------------------------------------

// A flag green threads can wait for. set() wakes every waiter.
class GREENRUN_API Event {
 public:
  Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();
  void set();
  void clear();
  bool is_set() const;
  // True once the flag is set; false if the timeout (seconds, negative = forever) passed first.
  bool wait(double timeout = -1);

 private:
  struct State;
  State* state_;
};

// A counting semaphore. release() hands the count straight to the longest waiter (FIFO).
class GREENRUN_API Semaphore {
 public:
  explicit Semaphore(long value = 1);  // a negative value raises std::invalid_argument
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  virtual ~Semaphore();
  // False when non-blocking and unavailable, or when the timeout passed.
  bool acquire(bool blocking = true, double timeout = -1);
  virtual void release();
  long counter() const;
  bool locked() const { return counter() <= 0; }
  void lock() { acquire(); }  // BasicLockable, for std::lock_guard / std::unique_lock
  void unlock() { release(); }

 protected:
  struct State;
  State* state_;
};

// A semaphore that refuses (std::logic_error) a release beyond its initial value.
class GREENRUN_API BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(long value = 1) : Semaphore(value), bound_(value) {}
  void release() override;

 private:
  long bound_;
};

// A mutual-exclusion lock for green threads (gevent.lock.Lock is a BoundedSemaphore(1)).
class GREENRUN_API Lock : public BoundedSemaphore {
 public:
  Lock() : BoundedSemaphore(1) {}
};

// A value (or exception) one green thread sets and others wait for.
class GREENRUN_API AsyncResultAny {
 public:
  AsyncResultAny();
  AsyncResultAny(const AsyncResultAny&) = delete;
  AsyncResultAny& operator=(const AsyncResultAny&) = delete;
  ~AsyncResultAny();
  void set(std::any value = {});
  void set_exception(std::exception_ptr error);
  bool ready() const;
  bool successful() const;
  std::exception_ptr exception() const;
  bool wait(double timeout = -1);
  // The value, or the exception raised here; TimeoutError (null source) on timeout, and
  // QueueEmpty-like GreenletError when not blocking and not ready.
  std::any get(bool block = true, double timeout = -1);

 private:
  struct State;
  State* state_;
};

template <class T>
class AsyncResult {
 public:
  void set(T value) { impl_.set(std::any(std::move(value))); }
  void set_exception(std::exception_ptr error) { impl_.set_exception(std::move(error)); }
  bool ready() const { return impl_.ready(); }
  bool successful() const { return impl_.successful(); }
  std::exception_ptr exception() const { return impl_.exception(); }
  bool wait(double timeout = -1) { return impl_.wait(timeout); }
  T get(bool block = true, double timeout = -1) {
    return std::any_cast<T>(impl_.get(block, timeout));
  }

 private:
  AsyncResultAny impl_;
};

struct GREENRUN_API QueueEmpty : std::runtime_error {
  QueueEmpty() : std::runtime_error("queue empty") {}
};
struct GREENRUN_API QueueFull : std::runtime_error {
  QueueFull() : std::runtime_error("queue full") {}
};

// Waiting room for Queue<T>: the non-template part.
class GREENRUN_API QueueWaiters {
 public:
  QueueWaiters();
  QueueWaiters(const QueueWaiters&) = delete;
  QueueWaiters& operator=(const QueueWaiters&) = delete;
  ~QueueWaiters();
  // Park until woken or the deadline (seconds; negative = forever). False on timeout.
  bool wait_for_item(double timeout);
  bool wait_for_space(double timeout);
  void item_added();
  void space_freed();

 private:
  struct State;
  State* state_;
};

// A FIFO queue between green threads. maxsize 0 means unbounded. put blocks while full, get
// while empty; with block=false or after the timeout they raise QueueFull / QueueEmpty.
template <class T>
class Queue {
 public:
  explicit Queue(std::size_t maxsize = 0) : maxsize_(maxsize) {}
  void put(T item, bool block = true, double timeout = -1) {
    while (full()) {
      if (!block || !waiters_.wait_for_space(timeout)) throw QueueFull();
    }
    items_.push_back(std::move(item));
    waiters_.item_added();
  }
  void put_nowait(T item) { put(std::move(item), false); }
  T get(bool block = true, double timeout = -1) {
    while (items_.empty()) {
      if (!block || !waiters_.wait_for_item(timeout)) throw QueueEmpty();
    }
    T item = std::move(items_.front());
    items_.pop_front();
    waiters_.space_freed();
    return item;
  }
  T get_nowait() { return get(false); }
  std::size_t qsize() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool full() const { return maxsize_ > 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const { return maxsize_; }

 private:
  std::size_t maxsize_;
  std::deque<T> items_;
  QueueWaiters waiters_;
};

// Runs at most `size` green threads at once: spawn() waits for a free slot.
class GREENRUN_API Pool {
 public:
  explicit Pool(std::size_t size);  // 0 raises std::invalid_argument
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();
  Greenlet spawn_any(Greenlet::Run body);
  template <class F, class... Args>
  Greenlet spawn(F&& fn, Args&&... args) {
    return spawn_any([fn = std::forward<F>(fn),
                      ... args = std::forward<Args>(args)](std::any) mutable -> std::any {
      if constexpr (std::is_void_v<std::invoke_result_t<F&, Args&...>>) {
        std::invoke(fn, args...);
        return {};
      } else {
        return std::any(std::invoke(fn, args...));
      }
    });
  }
  // Waits until every thread spawned so far has finished (false on timeout).
  bool join(double timeout = -1);
  std::size_t size() const;
  std::size_t running() const;
  std::size_t free_count() const { return size() - running(); }
  bool full() const { return free_count() == 0; }
  // Waits until at least one slot is free.
  void wait_available(double timeout = -1);

  struct State;  // shared with running members; defined in sync.cpp

 private:
  State* state_;
};

// Which context switch the runtime was built with ("x86_64", "aarch64" or "ucontext").
GREENRUN_API const char* context_backend();

}  // namespace greenrun
