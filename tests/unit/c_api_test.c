/* The C API used from C: this file is compiled as C, so it also proves greenrun.h is valid C.
 * The functions only record what they saw; c_api_test.cpp asserts. */
#include "c_api_test.h"

#include <stddef.h>
#include <string.h>

#include "greenrun.h"

/* ---- greenlet ping-pong ---- */

static greenrun_greenlet* pingpong_main;

static void* doubler(void* arg) {
  intptr_t v = (intptr_t)arg;
  while (v >= 0) v = (intptr_t)greenrun_switch(pingpong_main, (void*)(v * 2));
  return (void*)(-v * 100);
}

void c_greenlet_pingpong(struct c_pingpong* out) {
  memset(out, 0, sizeof *out);
  pingpong_main = greenrun_current();
  greenrun_greenlet* g = greenrun_greenlet_new(doubler, NULL, 0);
  if (!g) return;
  greenrun_greenlet* parent = greenrun_parent(g);
  out->parent_is_main = parent && greenrun_id(parent) == greenrun_id(pingpong_main);
  greenrun_greenlet_release(parent);
  out->started_before = greenrun_started(g);
  for (int i = 0; i < 3; ++i)
    out->received[i] = (intptr_t)greenrun_switch(g, (void*)(intptr_t)(i + 1));
  out->dead_before_last = greenrun_dead(g);
  out->last = (intptr_t)greenrun_switch(g, (void*)(intptr_t)-5);
  out->dead_after_last = greenrun_dead(g);
  out->result = (intptr_t)greenrun_result(g);
  greenrun_greenlet_release(g);
  greenrun_greenlet_release(pingpong_main);
}

/* ---- spawn, queue, join ---- */

static greenrun_queue* pipeline_queue;

static void* producer(void* arg) {
  intptr_t n = (intptr_t)arg;
  for (intptr_t i = 1; i <= n; ++i)
    if (greenrun_queue_put(pipeline_queue, (void*)(i * 10), 1, -1) != 0) return (void*)-1;
  return (void*)n;
}

static void* consumer(void* arg) {
  struct c_pipeline* out = arg;
  for (;;) {
    void* item = NULL;
    if (greenrun_queue_get(pipeline_queue, &item, 1, -1) != 0) return NULL;
    if ((intptr_t)item == 0) return NULL;
    if (out->count < 8) out->got[out->count++] = (intptr_t)item;
    greenrun_sleep(0);
  }
}

void c_spawn_queue_pipeline(struct c_pipeline* out) {
  memset(out, 0, sizeof *out);
  pipeline_queue = greenrun_queue_new(2);
  greenrun_greenlet* p = greenrun_spawn(producer, (void*)(intptr_t)5, 0);
  greenrun_greenlet* c = greenrun_spawn(consumer, out, 0);
  out->join_producer = greenrun_join(p, -1);
  out->producer_result = (intptr_t)greenrun_result(p);
  greenrun_queue_put(pipeline_queue, NULL, 1, -1); /* tells the consumer to stop */
  out->join_consumer = greenrun_join(c, -1);
  greenrun_greenlet_release(p);
  greenrun_greenlet_release(c);
  greenrun_queue_free(pipeline_queue);
}

/* ---- release while suspended ---- */

static greenrun_greenlet* released_main;
static int resumed_after_switch;

static void* suspend_once(void* arg) {
  (void)arg;
  greenrun_switch(released_main, NULL);
  resumed_after_switch = 1; /* not reached: the release unwinds this frame */
  return NULL;
}

void c_release_suspended(struct c_released* out) {
  memset(out, 0, sizeof *out);
  resumed_after_switch = 0;
  released_main = greenrun_current();
  greenrun_greenlet* g = greenrun_greenlet_new(suspend_once, NULL, 0);
  if (!g) return;
  greenrun_switch(g, NULL);
  out->started = greenrun_started(g);
  out->dead_before_release = greenrun_dead(g);
  greenrun_greenlet_release(g);
  out->resumed_after_switch = resumed_after_switch;
  greenrun_greenlet_release(released_main);
}
