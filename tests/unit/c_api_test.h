/* Scenarios written in C against greenrun.h (c_api_test.c, compiled as C). Each fills in what
 * it observed; the doctest cases in c_api_test.cpp check it. */
#ifndef GREENRUN_C_API_TEST_H
#define GREENRUN_C_API_TEST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A C greenlet that doubles what it is sent, switching back to main each time, and returns
 * -100 times the first negative value it receives. */
struct c_pingpong {
  int parent_is_main;
  int started_before;
  intptr_t received[3];
  int dead_before_last;
  intptr_t last;
  int dead_after_last;
  intptr_t result;
};
void c_greenlet_pingpong(struct c_pingpong* out);

/* A spawned producer and consumer over a bounded queue, joined from main. */
struct c_pipeline {
  intptr_t got[8];
  int count;
  int join_producer;
  int join_consumer;
  intptr_t producer_result;
};
void c_spawn_queue_pipeline(struct c_pipeline* out);

/* A C greenlet released while suspended: GreenletExit unwinds its C frames. */
struct c_released {
  int started;
  int dead_before_release;
  int resumed_after_switch;
};
void c_release_suspended(struct c_released* out);

#ifdef __cplusplus
}
#endif
#endif
