/* A bounded buffer guarded by a pthread mutex and two condition variables: several producers
 * and consumers move 1,000,000 numbered items; the consumers' sum proves none was lost or
 * taken twice. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>

enum { kProducers = 4, kConsumers = 4, kSlots = 64 };
static const long kItems = 1000000;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static long slots[kSlots];
static int head, used;
static long taken;  /* items claimed by consumers so far */

static void* producer(void* arg) {
  long id = (long)arg;
  /* Producer `id` makes the items id+1, id+1+kProducers, ... up to kItems. */
  for (long item = id + 1; item <= kItems; item += kProducers) {
    pthread_mutex_lock(&lock);
    while (used == kSlots) pthread_cond_wait(&not_full, &lock);
    slots[(head + used) % kSlots] = item;
    ++used;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static void* consumer(void* arg) {
  long id = (long)arg;
  long sum = 0, count = 0;
  if (id == 0) note_os_threads();
  for (;;) {
    pthread_mutex_lock(&lock);
    while (used == 0 && taken < kItems) pthread_cond_wait(&not_empty, &lock);
    if (used == 0) {  /* everything is taken: wake the others so they see it too */
      pthread_cond_broadcast(&not_empty);
      pthread_mutex_unlock(&lock);
      break;
    }
    long item = slots[head];
    head = (head + 1) % kSlots;
    --used;
    if (++taken == kItems) pthread_cond_broadcast(&not_empty);
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    sum += item;
    ++count;
  }
  long* out = malloc(2 * sizeof *out);
  out[0] = sum;
  out[1] = count;
  return out;
}

int main(void) {
  pthread_t producers[kProducers], consumers[kConsumers];
  for (long i = 0; i < kConsumers; ++i) CHECK_RC(pthread_create(&consumers[i], NULL, consumer, (void*)i), 0);
  for (long i = 0; i < kProducers; ++i) CHECK_RC(pthread_create(&producers[i], NULL, producer, (void*)i), 0);
  for (int i = 0; i < kProducers; ++i) CHECK_RC(pthread_join(producers[i], NULL), 0);
  long sum = 0, count = 0;
  for (int i = 0; i < kConsumers; ++i) {
    void* r;
    CHECK_RC(pthread_join(consumers[i], &r), 0);
    sum += ((long*)r)[0];
    count += ((long*)r)[1];
    free(r);
  }
  printf("items %ld\n", count);
  printf("checksum %ld (expected %ld)\n", sum, kItems * (kItems + 1) / 2);
  printf("buffer empty: %s\n", used == 0 ? "yes" : "no");
  report_os_threads();
  return sum == kItems * (kItems + 1) / 2 && count == kItems ? 0 : 1;
}
