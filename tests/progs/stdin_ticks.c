/* One thread reads stdin while another ticks every 10 ms. The runner writes a line every
 * 200 ms (--feed), so each read waits; the ticks must keep coming meanwhile. Each line is read
 * with a different stdio call; then stdin ends. A read that found its line already there (the
 * runner was late) proves nothing and is not held against the program. */
#include <pthread.h>
#include <unistd.h>

#include "progs.h"

static int ticks;
static int done;

static void* ticker(void* arg) {
  (void)arg;
  while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
    usleep(10000);
    __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
  }
  note_os_threads();
  return NULL;
}

static int line_number;
static int tick_mark;
static int64_t time_mark;

static void start_wait(void) {
  tick_mark = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
  time_mark = mono_ns();
}

static void end_wait(const char* call, const char* text) {
  int seen = __atomic_load_n(&ticks, __ATOMIC_RELAXED) - tick_mark;
  int64_t waited_ms = (mono_ns() - time_mark) / 1000000;
  if (seen >= 1 || waited_ms < 100)
    printf("line %d (%s): %s; ticks while waiting: >= 1\n", ++line_number, call, text);
  else
    printf("line %d (%s): %s; ticks while waiting: 0 after %lld ms\n", ++line_number, call, text,
           (long long)waited_ms);
}

int main(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
  char buf[128];

  start_wait();
  CHECK_EQ(fgets(buf, sizeof buf, stdin) != NULL, 1);
  buf[strcspn(buf, "\n")] = '\0';
  end_wait("fgets", buf);

  start_wait();
  char* line = NULL;
  size_t size = 0;
  CHECK_EQ(getline(&line, &size, stdin) > 0, 1);
  line[strcspn(line, "\n")] = '\0';
  end_wait("getline", line);
  free(line);

  start_wait();
  int number = 0;
  char newline = 0;
  CHECK_EQ(scanf("%d%c", &number, &newline), 2);
  CHECK_EQ(newline, '\n');
  snprintf(buf, sizeof buf, "%d", number);
  end_wait("scanf", buf);

  start_wait();
  int n = 0, c;
  while ((c = getchar()) != EOF && c != '\n') buf[n++] = (char)c;
  buf[n] = '\0';
  end_wait("getchar", buf);

  start_wait();
  const size_t length = strlen("read with fread\n");
  CHECK_EQ(fread(buf, 1, length, stdin), length);
  buf[length - 1] = '\0';
  end_wait("fread", buf);

  start_wait();
  CHECK_EQ(fgetc(stdin), EOF);
  CHECK_EQ(feof(stdin) != 0, 1);
  end_wait("fgetc", "end of input");

  __atomic_store_n(&done, 1, __ATOMIC_RELAXED);
  CHECK_RC(pthread_join(t, NULL), 0);
  report_os_threads();
  return 0;
}
