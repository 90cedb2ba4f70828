// The supervisor waits in sigtimedwait with every signal it acts on blocked (SIGCHLD and the
// forwarded ones): no handler, and no race between a signal and a wait.
// Forwarded to every running copy: SIGINT, SIGTERM, SIGHUP, SIGQUIT (under greenrun each copy
// dumps its threads, unless it handles QUIT itself), SIGUSR1 and SIGUSR2 (reload, reopen logs).
// Not forwarded: one from the terminal (Ctrl-C, Ctrl-\, a hang-up; si_code SI_KERNEL), which
// the kernel sends to the whole foreground process group, copies included; a second one would
// make a "press Ctrl-C again to force it" program force. A copy killed by a signal it was
// forwarded, or ending after SIGINT or SIGTERM was forwarded, is no failure: the user asked.
// Each copy gets SIGTERM should the launcher die without stopping it (PR_SET_PDEATHSIG), so no
// copy outlives a supervisor killed with SIGKILL and keeps the port.
#include "launcher_workers.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "launcher_message.h"

namespace greenrun::launcher {
namespace {

constexpr int kMaxWorkers = 1024;
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
constexpr time_t kGraceSeconds = 5;  // from SIGTERM to SIGKILL when we stop the others
// The launcher's status when a copy cannot even be started (fork failed).
constexpr int kCannotStart = 1;

// "exited with status 3", "was killed by SIGSEGV (core dumped)".
std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  const char* name = sigabbrev_np(WTERMSIG(status));
  std::string text = "was killed by " + (name ? "SIG" + std::string(name)
                                              : "signal " + std::to_string(WTERMSIG(status)));
  return WCOREDUMP(status) ? text + " (core dumped)" : text;
}

timespec now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

class Supervisor {
 public:
  Supervisor(int count, char** argv) : workers_(static_cast<std::size_t>(count)), argv_(argv) {}

  [[noreturn]] void run() {
    watch_signals();
    for (std::size_t i = 0; i < workers_.size() && !stopping_; ++i) start(i);
    while (running_ > 0) wait_once();
    finish();
  }

 private:
  struct Worker {
    pid_t pid = 0;
    bool running = false;
  };

  // Blocks what we wait for, and makes sure SIGCHLD is not ignored (an inherited SIG_IGN would
  // reap the copies before we learn their status); the copies get back what we inherited.
  void watch_signals() {
    sigemptyset(&watched_);
    sigaddset(&watched_, SIGCHLD);
    for (int s : kForwarded) sigaddset(&watched_, s);
    sigprocmask(SIG_BLOCK, &watched_, &original_mask_);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, &original_chld_);
    sigemptyset(&forwarded_);
  }

  void start(std::size_t index) {
    const pid_t launcher = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != launcher) _exit(128 + SIGTERM);  // it died before we could ask
      sigaction(SIGCHLD, &original_chld_, nullptr);
      sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
      execvp(argv_[0], argv_);
      const int error = errno;
      say("worker " + std::to_string(index + 1) + ": " + argv_[0] + ": " + std::strerror(error));
      _exit(error == ENOENT ? 127 : 126);
    }
    if (pid < 0) {
      say("cannot start worker " + std::to_string(index + 1) + ": " + std::strerror(errno) +
          (running_ ? "; stopping the others" : ""));
      record_failure(kCannotStart << 8);  // as the wait status of an exit with that status
      stop_others();
      return;
    }
    workers_[index] = {pid, true};
    ++running_;
  }

  void wait_once() {
    siginfo_t info{};
    int s;
    if (stopping_ && !killed_) {
      timespec left = deadline_, t = now();
      left.tv_sec -= t.tv_sec;
      left.tv_nsec -= t.tv_nsec;
      if (left.tv_nsec < 0) {
        left.tv_nsec += 1'000'000'000;
        --left.tv_sec;
      }
      if (left.tv_sec < 0) {
        kill_rest();
        return;
      }
      s = sigtimedwait(&watched_, &info, &left);
    } else {
      s = sigwaitinfo(&watched_, &info);
    }
    if (s < 0) {
      if (errno == EAGAIN) kill_rest();  // the grace period is over
      return;
    }
    if (s == SIGCHLD) reap();
    else if (info.si_code != SI_KERNEL) forward(s);
  }

  void reap() {
    int status = 0;
    for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i].pid != pid || !workers_[i].running) continue;
        workers_[i].running = false;
        --running_;
        ended(i, status);
      }
    }
  }

  void ended(std::size_t index, int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    record_failure(status);
    if (stopping_ || shutting_down_) return;  // what we or the user asked for
    if (WIFSIGNALED(status) && sigismember(&forwarded_, WTERMSIG(status))) return;
    say("worker " + std::to_string(index + 1) + " (pid " + std::to_string(workers_[index].pid) +
        ") " + describe(status) + (running_ ? "; stopping the others" : ""));
    stop_others();
  }

  void record_failure(int status) {
    if (failed_) return;
    failed_ = true;
    failure_ = status;
  }

  void forward(int signal) {
    sigaddset(&forwarded_, signal);
    if (signal == SIGINT || signal == SIGTERM) shutting_down_ = true;
    for (const Worker& w : workers_)
      if (w.running) kill(w.pid, signal);
  }

  void stop_others() {
    if (stopping_) return;
    stopping_ = true;
    deadline_ = now();
    deadline_.tv_sec += kGraceSeconds;
    for (const Worker& w : workers_)
      if (w.running) kill(w.pid, SIGTERM);
  }

  void kill_rest() {
    killed_ = true;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (!workers_[i].running) continue;
      say("worker " + std::to_string(i + 1) + " (pid " + std::to_string(workers_[i].pid) +
          ") still runs " + std::to_string(kGraceSeconds) + " s after SIGTERM; killing it");
      kill(workers_[i].pid, SIGKILL);
    }
  }

  // Ends as the first failing copy ended: its exit status, or death by its signal (a shell
  // then reports the launcher as it would the copy), without a core dump of our own.
  [[noreturn]] void finish() {
    if (!failed_) std::exit(0);
    if (WIFEXITED(failure_)) std::exit(WEXITSTATUS(failure_));
    const int signal = WTERMSIG(failure_);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(signal, &dfl, nullptr);
    sigset_t just{};
    sigemptyset(&just);
    sigaddset(&just, signal);
    sigprocmask(SIG_UNBLOCK, &just, nullptr);
    raise(signal);
    std::exit(128 + signal);  // a signal whose default action does not end a process
  }

  std::vector<Worker> workers_;
  char** argv_;
  int running_ = 0;
  bool failed_ = false;
  int failure_ = 0;              // the first failing copy's wait status
  bool stopping_ = false;        // we sent SIGTERM to the others
  bool killed_ = false;          // and then SIGKILL
  bool shutting_down_ = false;   // SIGINT or SIGTERM was forwarded
  timespec deadline_{};
  sigset_t watched_{}, original_mask_{}, forwarded_{};
  struct sigaction original_chld_ {};
};

}  // namespace

const char* read_workers(const char* text, int& count) {
  const char* why =
      "is not a number of copies from 1 to 1024, or auto (one per online CPU), e.g. --workers 4";
  if (std::strcmp(text, "auto") == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    count = cpus < 1 ? 1 : cpus > kMaxWorkers ? kMaxWorkers : static_cast<int>(cpus);
    return nullptr;
  }
  long n = 0;
  for (const char* p = text; *p; ++p) {
    if (*p < '0' || *p > '9' || n > kMaxWorkers) return why;
    n = n * 10 + (*p - '0');
  }
  if (!*text || n < 1 || n > kMaxWorkers) return why;
  count = static_cast<int>(n);
  return nullptr;
}

void run_workers(int count, char** argv) {
  // In the copies' environment; the launcher itself never reads it, nor execs again.
  setenv("GREENRUN_REUSEPORT", "1", 1);
  Supervisor(count, argv).run();
}

}  // namespace greenrun::launcher
