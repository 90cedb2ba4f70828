/* greenrun's C API: the same reach as the C++ API (greenrun.hpp) for C programs.
 * Conventions: functions that can fail return -1 (or NULL) and set errno; timeouts are in
 * seconds, negative meaning "wait forever". Functions that wait may be interrupted by a kill:
 * the killed thread's stack then unwinds (C++ cleanups run) back to the greenlet's start.
 * Every object belongs to the OS thread that created it. */
#ifndef GREENRUN_H
#define GREENRUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define GREENRUN_C_NOEXCEPT noexcept
#else
#define GREENRUN_C_NOEXCEPT
#endif

#define GREENRUN_C_API __attribute__((visibility("default")))

typedef struct greenrun_greenlet greenrun_greenlet;
typedef void* (*greenrun_run_fn)(void* arg);

/* ---- greenlets ----
 * Greenlets are coroutines inside the calling OS thread and share its thread-local storage
 * (__thread, pthread_self), as Python's greenlets do; errno is kept per greenlet. */

/* A greenlet that runs run(value) on the first switch to it. parent NULL: the caller.
 * stack_size 0: the default. NULL + errno EINVAL (stack below the minimum) or ENOMEM. */
GREENRUN_C_API greenrun_greenlet* greenrun_greenlet_new(greenrun_run_fn run,
                                                        greenrun_greenlet* parent,
                                                        size_t stack_size) GREENRUN_C_NOEXCEPT;
/* Drops the handle. A started, unfinished greenlet gets GreenletExit raised in it first. */
GREENRUN_C_API void greenrun_greenlet_release(greenrun_greenlet* g) GREENRUN_C_NOEXCEPT;
/* Switches to g handing it value; returns what the next switch back hands over. On error
 * (another OS thread: EXDEV; g blocked in a wait: EBUSY; an exception came back: ECANCELED)
 * returns NULL with errno set. */
GREENRUN_C_API void* greenrun_switch(greenrun_greenlet* g, void* value);
/* Raises GreenletExit in g (greenlet's throw()); returns what comes back. */
GREENRUN_C_API void* greenrun_throw(greenrun_greenlet* g);
/* A new handle (release it) to the current greenlet / to g's parent (NULL if none). */
GREENRUN_C_API greenrun_greenlet* greenrun_current(void) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API greenrun_greenlet* greenrun_parent(greenrun_greenlet* g) GREENRUN_C_NOEXCEPT;
/* 0, or -1 with EINVAL (cycle) / EXDEV (another OS thread). */
GREENRUN_C_API int greenrun_set_parent(greenrun_greenlet* g,
                                       greenrun_greenlet* parent) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API int greenrun_dead(const greenrun_greenlet* g) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API int greenrun_started(const greenrun_greenlet* g) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API uint64_t greenrun_id(const greenrun_greenlet* g) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_set_name(greenrun_greenlet* g, const char* name) GREENRUN_C_NOEXCEPT;
/* The value run() returned, once g is dead. */
GREENRUN_C_API void* greenrun_result(const greenrun_greenlet* g) GREENRUN_C_NOEXCEPT;
/* settrace: event is "switch" or "throw"; fn NULL turns tracing off. */
typedef void (*greenrun_trace_fn)(const char* event, greenrun_greenlet* origin,
                                  greenrun_greenlet* target, void* user);
GREENRUN_C_API void greenrun_settrace(greenrun_trace_fn fn, void* user) GREENRUN_C_NOEXCEPT;

/* ---- scheduling ---- */

/* Starts run(arg) in a new green thread, scheduled at the next switch. Release the handle when
 * done with it; the thread runs to its end either way. */
GREENRUN_C_API greenrun_greenlet* greenrun_spawn(greenrun_run_fn run, void* arg,
                                                 size_t stack_size) GREENRUN_C_NOEXCEPT;
/* 0 once g is dead; -1 with ETIMEDOUT, EDEADLK (joining yourself), EXDEV. */
GREENRUN_C_API int greenrun_join(greenrun_greenlet* g, double timeout);
/* Raises GreenletExit in g; with block, waits (up to timeout) for it to die. */
GREENRUN_C_API int greenrun_kill(greenrun_greenlet* g, int block, double timeout);
/* 0, or -1 with EINVAL for a negative or NaN duration. sleep(0) yields. */
GREENRUN_C_API int greenrun_sleep(double seconds);
/* Writes every green thread of this OS thread with its state and backtrace to fd. */
GREENRUN_C_API void greenrun_dump_threads(int fd) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API int greenrun_set_default_stack_size(size_t bytes) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API size_t greenrun_minimum_stack_size(void) GREENRUN_C_NOEXCEPT;

/* A Timeout raises in the thread that started it (C code sees its wait unwind); mostly useful
 * with the C++ API. Returns NULL with EINVAL for NaN. */
typedef struct greenrun_timeout greenrun_timeout;
GREENRUN_C_API greenrun_timeout* greenrun_timeout_start(double seconds) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_timeout_cancel(greenrun_timeout* t) GREENRUN_C_NOEXCEPT;

/* ---- synchronisation ---- */

typedef struct greenrun_event greenrun_event;
GREENRUN_C_API greenrun_event* greenrun_event_new(void) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_event_free(greenrun_event* e) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_event_set(greenrun_event* e) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_event_clear(greenrun_event* e) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API int greenrun_event_is_set(const greenrun_event* e) GREENRUN_C_NOEXCEPT;
/* 1 when set, 0 on timeout. */
GREENRUN_C_API int greenrun_event_wait(greenrun_event* e, double timeout);

typedef struct greenrun_semaphore greenrun_semaphore;
/* bounded: release beyond the initial value fails with EOVERFLOW. NULL + EINVAL if value < 0. */
GREENRUN_C_API greenrun_semaphore* greenrun_semaphore_new(long value,
                                                          int bounded) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_semaphore_free(greenrun_semaphore* s) GREENRUN_C_NOEXCEPT;
/* 1 acquired, 0 not (non-blocking or timeout). */
GREENRUN_C_API int greenrun_semaphore_acquire(greenrun_semaphore* s, int blocking,
                                              double timeout);
GREENRUN_C_API int greenrun_semaphore_release(greenrun_semaphore* s) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API long greenrun_semaphore_counter(const greenrun_semaphore* s) GREENRUN_C_NOEXCEPT;

typedef struct greenrun_async_result greenrun_async_result;
GREENRUN_C_API greenrun_async_result* greenrun_async_result_new(void) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_async_result_free(greenrun_async_result* r) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_async_result_set(greenrun_async_result* r,
                                              void* value) GREENRUN_C_NOEXCEPT;
/* 0 and *value, or -1 with ETIMEDOUT (EAGAIN when not blocking and not ready). */
GREENRUN_C_API int greenrun_async_result_get(greenrun_async_result* r, void** value, int block,
                                             double timeout);

typedef struct greenrun_queue greenrun_queue;
/* maxsize 0: unbounded. */
GREENRUN_C_API greenrun_queue* greenrun_queue_new(size_t maxsize) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_queue_free(greenrun_queue* q) GREENRUN_C_NOEXCEPT;
/* 0, or -1 with EAGAIN (not blocking) / ETIMEDOUT. */
GREENRUN_C_API int greenrun_queue_put(greenrun_queue* q, void* item, int block, double timeout);
GREENRUN_C_API int greenrun_queue_get(greenrun_queue* q, void** item, int block, double timeout);
GREENRUN_C_API size_t greenrun_queue_size(const greenrun_queue* q) GREENRUN_C_NOEXCEPT;

typedef struct greenrun_pool greenrun_pool;
/* NULL + EINVAL when size is 0. */
GREENRUN_C_API greenrun_pool* greenrun_pool_new(size_t size) GREENRUN_C_NOEXCEPT;
GREENRUN_C_API void greenrun_pool_free(greenrun_pool* p) GREENRUN_C_NOEXCEPT;
/* Waits for a free slot, then spawns. */
GREENRUN_C_API greenrun_greenlet* greenrun_pool_spawn(greenrun_pool* p, greenrun_run_fn run,
                                                      void* arg);
GREENRUN_C_API int greenrun_pool_join(greenrun_pool* p, double timeout);
GREENRUN_C_API size_t greenrun_pool_running(const greenrun_pool* p) GREENRUN_C_NOEXCEPT;

GREENRUN_C_API const char* greenrun_context_backend(void) GREENRUN_C_NOEXCEPT;

#ifdef __cplusplus
}
#endif
#endif /* GREENRUN_H */
