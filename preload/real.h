// The real libc entry points, reached only as real::name(...). Each is resolved on its first
// call with dlsym(RTLD_NEXT) (dlvsym where glibc keeps several versions), so a shim may run
// before our constructor (from another library's) and no dlsym runs in a static initialiser.
// Invariant: the objects are constant-initialised; resolving is idempotent and may race
// harmlessly (every racer stores the same pointer).
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sched.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

// decltype(&::f) carries glibc's nonnull attributes, which a template argument cannot.
#pragma GCC diagnostic ignored "-Wignored-attributes"

namespace greenrun::real {

// Finds `name` (at `version`, when given) in the objects loaded after us; aborts with a
// one-line diagnostic if libc does not have it.
void* resolve(const char* name, const char* version);

template <class F>
class Function;

template <class R, class... A>
class Function<R (*)(A...)> {
 public:
  constexpr explicit Function(const char* name, const char* version = nullptr)
      : name_(name), version_(version) {}
  R operator()(A... args) const {
    if (__builtin_expect(fn_ == nullptr, 0))
      fn_ = reinterpret_cast<R (*)(A...)>(resolve(name_, version_));
    return fn_(args...);
  }

 private:
  const char* name_;
  const char* version_;
  mutable R (*fn_)(A...) = nullptr;
};

// glibc marks most of these __THROW (noexcept in C++): same thing, callable the same way.
template <class R, class... A>
class Function<R (*)(A...) noexcept> : public Function<R (*)(A...)> {
 public:
  using Function<R (*)(A...)>::Function;
};

template <class R, class... A>
class Function<R (*)(A..., ...)> {  // variadic C functions: the caller passes the extras
 public:
  constexpr explicit Function(const char* name, const char* version = nullptr)
      : name_(name), version_(version) {}
  template <class... Extra>
  R operator()(A... args, Extra... extra) const {
    if (__builtin_expect(fn_ == nullptr, 0))
      fn_ = reinterpret_cast<R (*)(A..., ...)>(resolve(name_, version_));
    return fn_(args..., extra...);
  }

 private:
  const char* name_;
  const char* version_;
  mutable R (*fn_)(A..., ...) = nullptr;
};

// time
inline constexpr Function<decltype(&::sleep)> sleep{"sleep"};
inline constexpr Function<decltype(&::usleep)> usleep{"usleep"};
inline constexpr Function<decltype(&::nanosleep)> nanosleep{"nanosleep"};
inline constexpr Function<decltype(&::clock_nanosleep)> clock_nanosleep{"clock_nanosleep"};
inline constexpr Function<decltype(&::sched_yield)> sched_yield{"sched_yield"};
inline constexpr Function<long (*)(long, ...)> syscall{"syscall"};

// threads
inline constexpr Function<decltype(&::pthread_create)> pthread_create{"pthread_create"};
inline constexpr Function<decltype(&::pthread_join)> pthread_join{"pthread_join"};
inline constexpr Function<decltype(&::pthread_tryjoin_np)> pthread_tryjoin_np{"pthread_tryjoin_np"};
inline constexpr Function<decltype(&::pthread_timedjoin_np)> pthread_timedjoin_np{"pthread_timedjoin_np"};
inline constexpr Function<decltype(&::pthread_clockjoin_np)> pthread_clockjoin_np{"pthread_clockjoin_np"};
inline constexpr Function<decltype(&::pthread_detach)> pthread_detach{"pthread_detach"};
inline constexpr Function<decltype(&::pthread_exit)> pthread_exit{"pthread_exit"};
inline constexpr Function<decltype(&::pthread_self)> pthread_self{"pthread_self"};
inline constexpr Function<decltype(&::pthread_equal)> pthread_equal{"pthread_equal"};
inline constexpr Function<decltype(&::pthread_once)> pthread_once{"pthread_once"};
inline constexpr Function<decltype(&::pthread_key_create)> pthread_key_create{"pthread_key_create"};
inline constexpr Function<decltype(&::pthread_key_delete)> pthread_key_delete{"pthread_key_delete"};
inline constexpr Function<decltype(&::pthread_getspecific)> pthread_getspecific{"pthread_getspecific"};
inline constexpr Function<decltype(&::pthread_setspecific)> pthread_setspecific{"pthread_setspecific"};
inline constexpr Function<decltype(&::pthread_getattr_np)> pthread_getattr_np{"pthread_getattr_np"};
inline constexpr Function<decltype(&::pthread_setname_np)> pthread_setname_np{"pthread_setname_np"};
inline constexpr Function<decltype(&::pthread_getname_np)> pthread_getname_np{"pthread_getname_np"};
inline constexpr Function<decltype(&::pthread_cancel)> pthread_cancel{"pthread_cancel"};
inline constexpr Function<decltype(&::pthread_setcancelstate)> pthread_setcancelstate{"pthread_setcancelstate"};
inline constexpr Function<decltype(&::pthread_setcanceltype)> pthread_setcanceltype{"pthread_setcanceltype"};
inline constexpr Function<decltype(&::pthread_testcancel)> pthread_testcancel{"pthread_testcancel"};
inline constexpr Function<decltype(&::pthread_kill)> pthread_kill{"pthread_kill"};
inline constexpr Function<decltype(&::pthread_sigqueue)> pthread_sigqueue{"pthread_sigqueue"};
inline constexpr Function<decltype(&::pthread_getschedparam)> pthread_getschedparam{"pthread_getschedparam"};
inline constexpr Function<decltype(&::pthread_setschedparam)> pthread_setschedparam{"pthread_setschedparam"};
inline constexpr Function<decltype(&::pthread_setschedprio)> pthread_setschedprio{"pthread_setschedprio"};
inline constexpr Function<decltype(&::pthread_getaffinity_np)> pthread_getaffinity_np{"pthread_getaffinity_np"};
inline constexpr Function<decltype(&::pthread_setaffinity_np)> pthread_setaffinity_np{"pthread_setaffinity_np"};
inline constexpr Function<decltype(&::pthread_getcpuclockid)> pthread_getcpuclockid{"pthread_getcpuclockid"};

// mutexes, condition variables, rwlocks, spinlocks, barriers
inline constexpr Function<decltype(&::pthread_mutex_init)> pthread_mutex_init{"pthread_mutex_init"};
inline constexpr Function<decltype(&::pthread_mutex_destroy)> pthread_mutex_destroy{"pthread_mutex_destroy"};
inline constexpr Function<decltype(&::pthread_mutex_lock)> pthread_mutex_lock{"pthread_mutex_lock"};
inline constexpr Function<decltype(&::pthread_mutex_trylock)> pthread_mutex_trylock{"pthread_mutex_trylock"};
inline constexpr Function<decltype(&::pthread_mutex_timedlock)> pthread_mutex_timedlock{"pthread_mutex_timedlock"};
inline constexpr Function<decltype(&::pthread_mutex_clocklock)> pthread_mutex_clocklock{"pthread_mutex_clocklock"};
inline constexpr Function<decltype(&::pthread_mutex_unlock)> pthread_mutex_unlock{"pthread_mutex_unlock"};
inline constexpr Function<decltype(&::pthread_mutex_consistent)> pthread_mutex_consistent{"pthread_mutex_consistent"};
// pthread_cond_* exist as GLIBC_2.2.5 (old ABI) and GLIBC_2.3.2 (current): pass-through must
// land on the current one whatever reference the program has.
inline constexpr Function<decltype(&::pthread_cond_init)> pthread_cond_init{"pthread_cond_init", "GLIBC_2.3.2"};
inline constexpr Function<decltype(&::pthread_cond_destroy)> pthread_cond_destroy{"pthread_cond_destroy", "GLIBC_2.3.2"};
inline constexpr Function<decltype(&::pthread_cond_wait)> pthread_cond_wait{"pthread_cond_wait", "GLIBC_2.3.2"};
inline constexpr Function<decltype(&::pthread_cond_timedwait)> pthread_cond_timedwait{"pthread_cond_timedwait", "GLIBC_2.3.2"};
inline constexpr Function<decltype(&::pthread_cond_clockwait)> pthread_cond_clockwait{"pthread_cond_clockwait"};
inline constexpr Function<decltype(&::pthread_cond_signal)> pthread_cond_signal{"pthread_cond_signal", "GLIBC_2.3.2"};
inline constexpr Function<decltype(&::pthread_cond_broadcast)> pthread_cond_broadcast{"pthread_cond_broadcast", "GLIBC_2.3.2"};
inline constexpr Function<decltype(&::pthread_rwlock_init)> pthread_rwlock_init{"pthread_rwlock_init"};
inline constexpr Function<decltype(&::pthread_rwlock_destroy)> pthread_rwlock_destroy{"pthread_rwlock_destroy"};
inline constexpr Function<decltype(&::pthread_rwlock_rdlock)> pthread_rwlock_rdlock{"pthread_rwlock_rdlock"};
inline constexpr Function<decltype(&::pthread_rwlock_wrlock)> pthread_rwlock_wrlock{"pthread_rwlock_wrlock"};
inline constexpr Function<decltype(&::pthread_rwlock_tryrdlock)> pthread_rwlock_tryrdlock{"pthread_rwlock_tryrdlock"};
inline constexpr Function<decltype(&::pthread_rwlock_trywrlock)> pthread_rwlock_trywrlock{"pthread_rwlock_trywrlock"};
inline constexpr Function<decltype(&::pthread_rwlock_timedrdlock)> pthread_rwlock_timedrdlock{"pthread_rwlock_timedrdlock"};
inline constexpr Function<decltype(&::pthread_rwlock_timedwrlock)> pthread_rwlock_timedwrlock{"pthread_rwlock_timedwrlock"};
inline constexpr Function<decltype(&::pthread_rwlock_clockrdlock)> pthread_rwlock_clockrdlock{"pthread_rwlock_clockrdlock"};
inline constexpr Function<decltype(&::pthread_rwlock_clockwrlock)> pthread_rwlock_clockwrlock{"pthread_rwlock_clockwrlock"};
inline constexpr Function<decltype(&::pthread_rwlock_unlock)> pthread_rwlock_unlock{"pthread_rwlock_unlock"};
inline constexpr Function<decltype(&::pthread_spin_lock)> pthread_spin_lock{"pthread_spin_lock"};
inline constexpr Function<decltype(&::pthread_spin_trylock)> pthread_spin_trylock{"pthread_spin_trylock"};
inline constexpr Function<decltype(&::pthread_barrier_init)> pthread_barrier_init{"pthread_barrier_init"};
inline constexpr Function<decltype(&::pthread_barrier_destroy)> pthread_barrier_destroy{"pthread_barrier_destroy"};
inline constexpr Function<decltype(&::pthread_barrier_wait)> pthread_barrier_wait{"pthread_barrier_wait"};

// semaphores
inline constexpr Function<decltype(&::sem_init)> sem_init{"sem_init"};
inline constexpr Function<decltype(&::sem_destroy)> sem_destroy{"sem_destroy"};
inline constexpr Function<decltype(&::sem_wait)> sem_wait{"sem_wait"};
inline constexpr Function<decltype(&::sem_trywait)> sem_trywait{"sem_trywait"};
inline constexpr Function<decltype(&::sem_timedwait)> sem_timedwait{"sem_timedwait"};
inline constexpr Function<decltype(&::sem_clockwait)> sem_clockwait{"sem_clockwait"};
inline constexpr Function<decltype(&::sem_post)> sem_post{"sem_post"};
inline constexpr Function<decltype(&::sem_getvalue)> sem_getvalue{"sem_getvalue"};

// descriptors, sockets and their I/O
inline constexpr Function<decltype(&::socket)> socket{"socket"};
inline constexpr Function<decltype(&::socketpair)> socketpair{"socketpair"};
inline constexpr Function<decltype(&::accept)> accept{"accept"};
inline constexpr Function<decltype(&::accept4)> accept4{"accept4"};
inline constexpr Function<decltype(&::connect)> connect{"connect"};
inline constexpr Function<decltype(&::bind)> bind{"bind"};
inline constexpr Function<decltype(&::getsockopt)> getsockopt{"getsockopt"};
inline constexpr Function<decltype(&::shutdown)> shutdown{"shutdown"};
inline constexpr Function<decltype(&::setsockopt)> setsockopt{"setsockopt"};
inline constexpr Function<decltype(&::read)> read{"read"};
inline constexpr Function<decltype(&::readv)> readv{"readv"};
inline constexpr Function<decltype(&::preadv2)> preadv2{"preadv2"};
inline constexpr Function<decltype(&::pwritev2)> pwritev2{"pwritev2"};
inline constexpr Function<decltype(&::write)> write{"write"};
inline constexpr Function<decltype(&::pread)> pread{"pread"};
inline constexpr Function<decltype(&::pwrite)> pwrite{"pwrite"};
inline constexpr Function<decltype(&::pread64)> pread64{"pread64"};
inline constexpr Function<decltype(&::pwrite64)> pwrite64{"pwrite64"};
inline constexpr Function<decltype(&::fsync)> fsync{"fsync"};
inline constexpr Function<decltype(&::fdatasync)> fdatasync{"fdatasync"};
inline constexpr Function<decltype(&::syncfs)> syncfs{"syncfs"};
inline constexpr Function<decltype(&::sync_file_range)> sync_file_range{"sync_file_range"};
inline constexpr Function<decltype(&::flock)> flock{"flock"};
inline constexpr Function<decltype(&::lockf)> lockf{"lockf"};
inline constexpr Function<decltype(&::lockf64)> lockf64{"lockf64"};
inline constexpr Function<decltype(&::writev)> writev{"writev"};
inline constexpr Function<decltype(&::recv)> recv{"recv"};
inline constexpr Function<decltype(&::recvfrom)> recvfrom{"recvfrom"};
inline constexpr Function<decltype(&::recvmsg)> recvmsg{"recvmsg"};
inline constexpr Function<decltype(&::recvmmsg)> recvmmsg{"recvmmsg"};
inline constexpr Function<decltype(&::send)> send{"send"};
inline constexpr Function<decltype(&::sendto)> sendto{"sendto"};
inline constexpr Function<decltype(&::sendmsg)> sendmsg{"sendmsg"};
inline constexpr Function<decltype(&::sendmmsg)> sendmmsg{"sendmmsg"};
inline constexpr Function<decltype(&::sendfile)> sendfile{"sendfile"};
inline constexpr Function<decltype(&::splice)> splice{"splice"};
inline constexpr Function<decltype(&::pipe)> pipe{"pipe"};
inline constexpr Function<decltype(&::pipe2)> pipe2{"pipe2"};
inline constexpr Function<decltype(&::close)> close{"close"};
inline constexpr Function<decltype(&::dup)> dup{"dup"};
inline constexpr Function<decltype(&::dup2)> dup2{"dup2"};
inline constexpr Function<decltype(&::dup3)> dup3{"dup3"};
inline constexpr Function<int (*)(int, int, ...)> fcntl{"fcntl"};
inline constexpr Function<int (*)(int, unsigned long, ...)> ioctl{"ioctl"};

// DNS
inline constexpr Function<decltype(&::getaddrinfo)> getaddrinfo{"getaddrinfo"};
inline constexpr Function<decltype(&::getnameinfo)> getnameinfo{"getnameinfo"};
inline constexpr Function<decltype(&::gethostbyname)> gethostbyname{"gethostbyname"};
inline constexpr Function<decltype(&::gethostbyname2)> gethostbyname2{"gethostbyname2"};
inline constexpr Function<decltype(&::gethostbyname_r)> gethostbyname_r{"gethostbyname_r"};
inline constexpr Function<decltype(&::gethostbyname2_r)> gethostbyname2_r{"gethostbyname2_r"};
inline constexpr Function<decltype(&::gethostbyaddr)> gethostbyaddr{"gethostbyaddr"};
inline constexpr Function<decltype(&::gethostbyaddr_r)> gethostbyaddr_r{"gethostbyaddr_r"};

// poll and epoll
inline constexpr Function<decltype(&::poll)> poll{"poll"};
inline constexpr Function<decltype(&::ppoll)> ppoll{"ppoll"};
inline constexpr Function<decltype(&::select)> select{"select"};
inline constexpr Function<decltype(&::pselect)> pselect{"pselect"};
inline constexpr Function<decltype(&::epoll_wait)> epoll_wait{"epoll_wait"};
inline constexpr Function<decltype(&::epoll_pwait)> epoll_pwait{"epoll_pwait"};
inline constexpr Function<decltype(&::epoll_pwait2)> epoll_pwait2{"epoll_pwait2"};
inline constexpr Function<void (*)()> chk_fail{"__chk_fail"};  // glibc's fortify abort

// stdio (shims/stdio.cpp, shims/stdio_input.cpp). The scanf family is reached through its
// v-forms: vfscanf is the GNU one (%as allocates), __isoc99_vfscanf the C99 one that C99-and-later
// headers redirect to.
inline constexpr Function<decltype(&::fdopen)> fdopen{"fdopen"};
inline constexpr Function<decltype(&::fclose)> fclose{"fclose"};
inline constexpr Function<decltype(&::freopen)> freopen{"freopen"};
inline constexpr Function<decltype(&::pthread_setattr_default_np)> pthread_setattr_default_np{
    "pthread_setattr_default_np"};
inline constexpr Function<decltype(&::flockfile)> flockfile{"flockfile"};
inline constexpr Function<decltype(&::ftrylockfile)> ftrylockfile{"ftrylockfile"};
inline constexpr Function<decltype(&::funlockfile)> funlockfile{"funlockfile"};
inline constexpr Function<decltype(&::pclose)> pclose{"pclose"};
inline constexpr Function<decltype(&::closedir)> closedir{"closedir"};
inline constexpr Function<decltype(&::fgets)> fgets{"fgets"};
inline constexpr Function<decltype(&::fgets_unlocked)> fgets_unlocked{"fgets_unlocked"};
inline constexpr Function<char* (*)(char*, size_t, int, FILE*)> fgets_chk{"__fgets_chk"};
inline constexpr Function<char* (*)(char*, size_t, int, FILE*)> fgets_unlocked_chk{"__fgets_unlocked_chk"};
inline constexpr Function<decltype(&::getline)> getline{"getline"};
inline constexpr Function<decltype(&::getdelim)> getdelim{"getdelim"};
inline constexpr Function<decltype(&::fread)> fread{"fread"};
inline constexpr Function<decltype(&::fread_unlocked)> fread_unlocked{"fread_unlocked"};
inline constexpr Function<size_t (*)(void*, size_t, size_t, size_t, FILE*)> fread_chk{"__fread_chk"};
inline constexpr Function<size_t (*)(void*, size_t, size_t, size_t, FILE*)> fread_unlocked_chk{"__fread_unlocked_chk"};
inline constexpr Function<decltype(&::fgetc)> fgetc{"fgetc"};
inline constexpr Function<decltype(&::fgetc_unlocked)> fgetc_unlocked{"fgetc_unlocked"};
inline constexpr Function<decltype(&::getc)> getc{"getc"};
inline constexpr Function<decltype(&::getc_unlocked)> getc_unlocked{"getc_unlocked"};
inline constexpr Function<decltype(&::getchar)> getchar{"getchar"};
inline constexpr Function<decltype(&::getchar_unlocked)> getchar_unlocked{"getchar_unlocked"};
inline constexpr Function<int (*)(FILE*)> uflow{"__uflow"};
inline constexpr Function<int (*)(FILE*, const char*, va_list)> vfscanf{"vfscanf"};
inline constexpr Function<int (*)(FILE*, const char*, va_list)> isoc99_vfscanf{"__isoc99_vfscanf"};

// processes (shims/process.cpp, shims/process_shell.cpp)
inline constexpr Function<decltype(&::fork)> fork{"fork"};
inline constexpr Function<decltype(&::waitpid)> waitpid{"waitpid"};
inline constexpr Function<decltype(&::wait)> wait{"wait"};
inline constexpr Function<decltype(&::wait3)> wait3{"wait3"};
inline constexpr Function<decltype(&::wait4)> wait4{"wait4"};
inline constexpr Function<decltype(&::waitid)> waitid{"waitid"};
inline constexpr Function<decltype(&::system)> system{"system"};
inline constexpr Function<decltype(&::popen)> popen{"popen"};
inline constexpr Function<decltype(&::posix_spawn)> posix_spawn{"posix_spawn"};
inline constexpr Function<decltype(&::posix_spawnp)> posix_spawnp{"posix_spawnp"};
// exec (shims/exec.cpp); execl, execle and execlp are rebuilt on the vector forms
inline constexpr Function<decltype(&::execve)> execve{"execve"};
inline constexpr Function<decltype(&::execv)> execv{"execv"};
inline constexpr Function<decltype(&::execvp)> execvp{"execvp"};
inline constexpr Function<decltype(&::execvpe)> execvpe{"execvpe"};
inline constexpr Function<decltype(&::fexecve)> fexecve{"fexecve"};
inline constexpr Function<decltype(&::execveat)> execveat{"execveat"};
inline constexpr Function<decltype(&::sigaction)> sigaction{"sigaction"};
inline constexpr Function<decltype(&::pthread_sigmask)> pthread_sigmask{"pthread_sigmask"};
inline constexpr Function<decltype(&::kill)> kill{"kill"};

// signals (shims/signal.cpp; sigaction, pthread_sigmask and kill are above)
inline constexpr Function<decltype(&::sigprocmask)> sigprocmask{"sigprocmask"};
inline constexpr Function<decltype(&::sigtimedwait)> sigtimedwait{"sigtimedwait"};
inline constexpr Function<decltype(&::sigwait)> sigwait{"sigwait"};
inline constexpr Function<decltype(&::sigwaitinfo)> sigwaitinfo{"sigwaitinfo"};
inline constexpr Function<decltype(&::sigsuspend)> sigsuspend{"sigsuspend"};
inline constexpr Function<decltype(&::pause)> pause{"pause"};
inline constexpr Function<decltype(&::signal)> signal{"signal"};
inline constexpr Function<int (*)(int, const sigset_t*, int)> signalfd{"signalfd"};
inline constexpr Function<decltype(&::sigaltstack)> sigaltstack{"sigaltstack"};
inline constexpr Function<decltype(&::sigpending)> sigpending{"sigpending"};

// thread identity (shims/thread_identity.cpp). On x86_64, sched_[gs]etaffinity also exist as
// GLIBC_2.3.3 (without the size argument) and timer_create as GLIBC_2.2.5 (int timer ids); dlsym
// gives the default version, so pass-through lands on the current ABI (binaries from before 2004
// are not supported).
inline constexpr Function<decltype(&::gettid)> gettid{"gettid"};
inline constexpr Function<decltype(&::tgkill)> tgkill{"tgkill"};
inline constexpr Function<decltype(&::sched_setaffinity)> sched_setaffinity{"sched_setaffinity"};
inline constexpr Function<decltype(&::sched_getaffinity)> sched_getaffinity{"sched_getaffinity"};
inline constexpr Function<decltype(&::sched_setscheduler)> sched_setscheduler{"sched_setscheduler"};
inline constexpr Function<decltype(&::sched_getscheduler)> sched_getscheduler{"sched_getscheduler"};
inline constexpr Function<decltype(&::sched_setparam)> sched_setparam{"sched_setparam"};
inline constexpr Function<decltype(&::sched_getparam)> sched_getparam{"sched_getparam"};
inline constexpr Function<decltype(&::setpriority)> setpriority{"setpriority"};
inline constexpr Function<decltype(&::getpriority)> getpriority{"getpriority"};
inline constexpr Function<int (*)(int, ...)> prctl{"prctl"};
inline constexpr Function<decltype(&::timer_create)> timer_create{"timer_create"};

// opening /proc paths (shims/proc_paths.cpp); __open_2 and friends are _FORTIFY_SOURCE's forms.
inline constexpr Function<int (*)(const char*, int, ...)> open{"open"};
inline constexpr Function<int (*)(const char*, int, ...)> open64{"open64"};
inline constexpr Function<int (*)(int, const char*, int, ...)> openat{"openat"};
inline constexpr Function<int (*)(int, const char*, int, ...)> openat64{"openat64"};
inline constexpr Function<int (*)(const char*, int)> open_2{"__open_2"};
inline constexpr Function<int (*)(const char*, int)> open64_2{"__open64_2"};
inline constexpr Function<int (*)(int, const char*, int)> openat_2{"__openat_2"};
inline constexpr Function<int (*)(int, const char*, int)> openat64_2{"__openat64_2"};
inline constexpr Function<decltype(&::fopen)> fopen{"fopen"};
inline constexpr Function<decltype(&::fopen64)> fopen64{"fopen64"};

}  // namespace greenrun::real
