/* GREENRUN_INHERIT=0: a program started with it has libgreenrun.so mapped but removes it from
 * its own LD_PRELOAD, so what it execs runs natively. "refuse": a malformed value stops the
 * program with status 2 (checked under the preload only). */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static int mapped(void) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (f && fgets(line, sizeof line, f)) found |= strstr(line, "libgreenrun") != NULL;
  if (f) fclose(f);
  return found;
}

static int in_ld_preload(void) {
  const char* v = getenv("LD_PRELOAD");
  return v && strstr(v, "libgreenrun") != NULL;
}

static int run_self(const char* mode) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", "inherit", mode, (char*)NULL);
    _exit(120);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "parent";
  if (strcmp(mode, "parent") == 0) {
    setenv("GREENRUN_INHERIT", "0", 1);
    printf("middle exited %d\n", run_self("middle"));
  } else if (strcmp(mode, "middle") == 0) {
    property("middle_mapped", mapped());
    printf("middle: greenrun in LD_PRELOAD: %d\n", in_ld_preload());
    return run_self("child");
  } else if (strcmp(mode, "child") == 0) {
    printf("child: greenrun in LD_PRELOAD: %d, mapped: %d\n", in_ld_preload(), mapped());
  } else if (strcmp(mode, "refuse") == 0) {
    setenv("GREENRUN_INHERIT", "abc", 1);
    printf("child exited %d\n", run_self("child"));
  }
  return 0;
}
