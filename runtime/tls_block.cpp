// A green thread's own TLS, built as glibc 2.36's allocate_stack and start_thread build a new
// thread's (nptl/allocatestack.c, nptl/pthread_create.c):
//
//   stack top ->  [ struct pthread (the descriptor; the thread pointer points at its start) ]
//                 [ static TLS of every module, laid out by the loader, below the pointer  ]
//                 [ the stack proper, growing down                                        ]
//
// The loader exports what NPTL uses for this to its clients (GLIBC_PRIVATE in ld.so):
// _dl_get_tls_static_info for the size, _dl_allocate_tls to make the DTV and copy every
// module's .tdata and clear its .tbss, _dl_deallocate_tls to free the DTV and the blocks of
// modules whose TLS is allocated on first use. glibc reads a few fields of the descriptor
// itself (through THREAD_SELF): the self pointers, the stack-protector canary and pointer guard
// (copied from the main thread, as every glibc thread shares them), the thread id (the owner of
// its recursive locks), the robust-mutex list head, the stack bounds (its alloca cutoff), the
// resolver state and the rseq area. Their offsets are private to glibc; libthread_db's own
// descriptors of the structure (_thread_db_*, exported for debuggers) and __rseq_offset
// confirm at start-up that the layout is one listed below, and anything else falls back to
// shared TLS with a notice rather than guessing.
//
// malloc's per-thread state (tcache, thread_arena) lives in libc's TLS, and glibc frees a
// thread's tcache only from an internal function that start_thread calls (not exported). A
// green thread that ends without it would leak its tcache and every chunk cached there, so
// green threads share their OS thread's malloc state instead, as they share the OS thread:
// malloc never switches threads halfway. The two words are found once by building a probe
// block, running malloc on it and seeing which words of libc's TLS changed.
#include "tls_block.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "thread_pointer.h"

namespace greenrun::rt::tls {
namespace {

// Offsets in glibc's struct pthread (x86-64, TLS variant II: the thread pointer points at the
// descriptor). Checked against libthread_db's descriptors before use.
struct DescriptorLayout {
  const char* glibc;
  std::uint32_t size;            // sizeof (struct pthread)
  std::uint32_t header_size;     // tcbhead_t, padded: what is copied from the main thread
  std::uint32_t dtv, self, multiple_threads, gscope_flag, private_ss, ssp_base;
  std::uint32_t list, tid, robust_head, specific_1stblock, specific, report_events;
  std::uint32_t cancelhandling, user_stack, schedpolicy, start_routine;
  std::uint32_t stackblock, stackblock_size, guardsize, reported_guardsize, res, tls_state;
  std::uint32_t rseq_area;
  // In the loader's _rtld_global: the list heads libthread_db describes (to check the layout)
  // and the static TLS in use by modules (grows when a dlopen'd module takes static TLS).
  std::uint32_t rtld_slotinfo_list, rtld_stack_used, rtld_stack_user, rtld_static_used;
};

constexpr DescriptorLayout kKnownLayouts[] = {
    // glibc 2.36 (Debian 12), read with `ptype/o struct pthread` from libc6-dbg.
    {"2.36", 2368, 704, 8, 16, 24, 28, 112, 120, 704, 720, 736, 784, 1296, 1553, 776, 1554, 1588,
     1592, 1680, 1688, 1696, 1704, 1720, 2304, 2336, 4208, 4264, 4280, 4224},
};

// libthread_db's description of one field: {bits, count, offset}.
std::uint32_t thread_db_offset(const char* field) {
  auto* d = static_cast<const std::uint32_t*>(dlsym(RTLD_DEFAULT, field));
  return d ? d[2] : ~0u;
}

struct Loader {
  void* (*allocate_tls)(void*) = nullptr;
  void (*deallocate_tls)(void*, bool) = nullptr;
  void (*get_static_info)(std::size_t*, std::size_t*) = nullptr;
  void (*ctype_init)() = nullptr;
  void (*call_tls_dtors)() = nullptr;
};

struct State {
  bool ok = false;
  const char* why = "not checked yet";
  const DescriptorLayout* layout = nullptr;
  Loader loader;
  std::size_t static_size = 0;   // descriptor included
  std::size_t static_align = 0;
  char* os_tp = nullptr;         // the thread pointer of the OS thread that checked
  std::ptrdiff_t resp = 0;       // libc's __resp (resolver state pointer), from the pointer
  std::ptrdiff_t malloc_words[2] = {};  // libc's tcache and thread_arena, from the pointer
  int malloc_word_count = 0;
  const std::size_t* static_used = nullptr;  // the loader's count of static TLS in use
  std::size_t static_used_seen = 0;          // its value when the last block was built
};

State& state() {
  static State s;
  return s;
}

template <class T>
T& field(void* tp, std::ptrdiff_t offset) {
  return *reinterpret_cast<T*>(static_cast<char*>(tp) + offset);
}

template <class F>
bool find(F& out, const char* name, const char* version) {
  out = reinterpret_cast<F>(dlvsym(RTLD_DEFAULT, name, version));
  return out != nullptr;
}

const DescriptorLayout* known_layout() {
  auto* rseq_offset = static_cast<const std::ptrdiff_t*>(dlsym(RTLD_DEFAULT, "__rseq_offset"));
  auto* size = static_cast<const std::uint32_t*>(dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread"));
  for (const DescriptorLayout& l : kKnownLayouts) {
    if (size && *size == l.size && thread_db_offset("_thread_db_pthread_tid") == l.tid &&
        thread_db_offset("_thread_db_pthread_list") == l.list &&
        thread_db_offset("_thread_db_pthread_specific") == l.specific &&
        thread_db_offset("_thread_db_pthread_report_events") == l.report_events &&
        thread_db_offset("_thread_db_pthread_cancelhandling") == l.cancelhandling &&
        thread_db_offset("_thread_db_pthread_schedpolicy") == l.schedpolicy &&
        thread_db_offset("_thread_db_pthread_start_routine") == l.start_routine &&
        rseq_offset && *rseq_offset == static_cast<std::ptrdiff_t>(l.rseq_area) &&
        thread_db_offset("_thread_db_rtld_global__dl_tls_dtv_slotinfo_list") ==
            l.rtld_slotinfo_list &&
        thread_db_offset("_thread_db_rtld_global__dl_stack_used") == l.rtld_stack_used &&
        thread_db_offset("_thread_db_rtld_global__dl_stack_user") == l.rtld_stack_user)
      return &l;
  }
  return nullptr;
}

// The descriptor of a new thread, before the loader fills in its TLS.
void make_descriptor(void* tp, const StackDescription& stack) {
  State& s = state();
  const DescriptorLayout& l = *s.layout;
  std::memset(tp, 0, l.size);
  std::memcpy(tp, s.os_tp, l.header_size);  // canary, pointer guard, CET features, sysinfo
  field<void*>(tp, 0) = tp;                 // header.tcb
  field<void*>(tp, l.dtv) = nullptr;
  field<void*>(tp, l.self) = tp;
  field<int>(tp, l.multiple_threads) = 1;
  field<int>(tp, l.gscope_flag) = 0;
  field<void*>(tp, l.private_ss) = nullptr;  // no split-stack limit
  field<void*>(tp, l.ssp_base) = nullptr;
  // An empty list: fork's child unlinks the calling thread from glibc's stack lists.
  void* list = static_cast<char*>(tp) + l.list;
  field<void*>(tp, l.list) = list;
  field<void*>(tp, l.list + sizeof(void*)) = list;
  // An empty robust-mutex list, as every thread starts with.
  void* robust = static_cast<char*>(tp) + l.robust_head;
  field<void*>(tp, l.robust_head) = robust;
  field<long>(tp, l.robust_head + sizeof(void*)) =
      static_cast<long>(offsetof(pthread_mutex_t, __data.__lock)) -
      static_cast<long>(offsetof(pthread_mutex_t, __data.__list.__next));
  field<void*>(tp, l.specific) = static_cast<char*>(tp) + l.specific_1stblock;
  field<bool>(tp, l.user_stack) = stack.user_stack;
  field<void*>(tp, l.stackblock) = stack.block;
  field<std::size_t>(tp, l.stackblock_size) = stack.block_size;
  field<std::size_t>(tp, l.guardsize) = stack.guard_size;
  field<std::size_t>(tp, l.reported_guardsize) = stack.reported_guard_size;
  // rseq: the kernel updates only the OS thread's registered area; a negative cpu_id makes
  // sched_getcpu (and rseq users) ask the kernel instead of reading a stale copy.
  field<std::int32_t>(tp, l.rseq_area + 4) = -2;  // RSEQ_CPU_ID_REGISTRATION_FAILED
}

void* block_below(void* stack_top) {
  State& s = state();
  auto top = reinterpret_cast<std::uintptr_t>(stack_top);
  std::uintptr_t tp = (top - s.layout->size) & ~(s.static_align - 1);
  return reinterpret_cast<void*>(tp);
}

// libc's static TLS (where its __thread variables live), as an offset from the thread
// pointer and a size; false when it cannot be found.
bool libc_tls_region(std::ptrdiff_t& offset, std::size_t& size) {
  struct Found {
    char* data = nullptr;
    std::size_t size = 0;
  } found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        if (!info->dlpi_name || !std::strstr(info->dlpi_name, "/libc.so.6")) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          if (info->dlpi_phdr[i].p_type != PT_TLS) continue;
          auto* f = static_cast<Found*>(out);
          f->data = static_cast<char*>(info->dlpi_tls_data);
          f->size = info->dlpi_phdr[i].p_memsz;
        }
        return 1;
      },
      &found);
  if (!found.data) return false;
  offset = found.data - state().os_tp;
  size = found.size;
  return true;
}

// Which words of libc's TLS malloc sets on a thread's first call: build a probe block (kept
// for good: an allocator may remember the probe as a thread), run malloc with it, compare.
void find_malloc_words() {
  State& s = state();
  std::ptrdiff_t offset;
  std::size_t size;
  if (!libc_tls_region(offset, size)) return;
  const std::size_t length = (s.static_size + 2 * s.static_align - 1) & ~(s.static_align - 1);
  char* memory = static_cast<char*>(std::aligned_alloc(s.static_align, length));
  if (!memory) return;
  std::memset(memory, 0, length);
  void* tp = block_below(memory + length);
  make_descriptor(tp, StackDescription{});
  if (!s.loader.allocate_tls(tp)) return;
  auto* words = reinterpret_cast<std::uintptr_t*>(static_cast<char*>(tp) + offset);
  std::size_t count = size / sizeof(std::uintptr_t);
  auto* before = static_cast<std::uintptr_t*>(std::calloc(count, sizeof(std::uintptr_t)));
  if (!before) return;
  std::memcpy(before, words, count * sizeof(std::uintptr_t));
  write_thread_pointer(tp);
  void* volatile chunk = std::malloc(32);  // volatile: the pair must not be optimised away
  std::free(chunk);
  write_thread_pointer(s.os_tp);
  int changed = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (words[i] == before[i]) continue;
    if (changed < 2)
      s.malloc_words[changed] =
          offset + static_cast<std::ptrdiff_t>(i * sizeof(std::uintptr_t));
    ++changed;
  }
  std::free(before);
  // Anything but malloc's two words means we do not understand what changed: share nothing.
  s.malloc_word_count = changed <= 2 ? changed : 0;
}

void check() {
  State& s = state();
  s.layout = known_layout();
  if (!s.layout) {
    s.why = "this glibc's thread descriptor layout is not one greenrun knows";
    return;
  }
  Loader& l = s.loader;
  if (!find(l.allocate_tls, "_dl_allocate_tls", "GLIBC_PRIVATE") ||
      !find(l.deallocate_tls, "_dl_deallocate_tls", "GLIBC_PRIVATE") ||
      !find(l.get_static_info, "_dl_get_tls_static_info", "GLIBC_PRIVATE") ||
      !find(l.ctype_init, "__ctype_init", "GLIBC_PRIVATE") ||
      !find(l.call_tls_dtors, "__call_tls_dtors", "GLIBC_PRIVATE")) {
    s.why = "the loader does not export its TLS functions (_dl_allocate_tls and others)";
    return;
  }
  l.get_static_info(&s.static_size, &s.static_align);
  if (s.static_align < 64) s.static_align = 64;
  s.os_tp = static_cast<char*>(read_thread_pointer());
  if (void* resp = dlsym(RTLD_DEFAULT, "__resp"))  // a TLS symbol: this thread's address
    s.resp = static_cast<char*>(resp) - s.os_tp;
  if (auto* rtld = static_cast<char*>(dlvsym(RTLD_DEFAULT, "_rtld_global", "GLIBC_PRIVATE"))) {
    s.static_used = reinterpret_cast<const std::size_t*>(rtld + s.layout->rtld_static_used);
    s.static_used_seen = *s.static_used;
  }
  s.ok = true;
  s.why = nullptr;
  find_malloc_words();
}

}  // namespace

bool available(const char** why) {
  static const bool checked = (check(), true);
  (void)checked;
  if (why) *why = state().why;
  return state().ok;
}

std::size_t reserve() { return state().static_size + state().static_align; }

std::size_t static_size() { return state().static_size; }

bool static_tls_grew() {
  State& s = state();
  if (!s.static_used || *s.static_used == s.static_used_seen) return false;
  s.static_used_seen = *s.static_used;
  return true;
}

void* build(void* stack_top, const StackDescription& stack) {
  State& s = state();
  void* tp = block_below(stack_top);
  make_descriptor(tp, stack);
  if (!s.loader.allocate_tls(tp)) return nullptr;
  for (int i = 0; i < s.malloc_word_count; ++i)
    field<std::uintptr_t>(tp, s.malloc_words[i]) =
        field<std::uintptr_t>(s.os_tp, s.malloc_words[i]);
  if (s.resp) field<void*>(tp, s.resp) = static_cast<char*>(tp) + s.layout->res;
  return tp;
}

void read_malloc_state(const void* tp, std::uintptr_t words[2]) {
  const State& s = state();
  for (int i = 0; i < s.malloc_word_count; ++i)
    words[i] = *reinterpret_cast<const std::uintptr_t*>(static_cast<const char*>(tp) +
                                                        s.malloc_words[i]);
}

void write_malloc_state(void* tp, const std::uintptr_t words[2]) {
  const State& s = state();
  for (int i = 0; i < s.malloc_word_count; ++i)
    field<std::uintptr_t>(tp, s.malloc_words[i]) = words[i];
}

void set_tid(void* tp, pid_t tid) { field<pid_t>(tp, state().layout->tid) = tid; }

void start_on_current_thread() { state().loader.ctype_init(); }

void run_thread_local_destructors() { state().loader.call_tls_dtors(); }

void release(void* tp) {
  State& s = state();
  // glibc's per-thread strsignal and strerror_l buffers (tls_internal_t).
  std::free(field<void*>(tp, s.layout->tls_state));
  std::free(field<void*>(tp, s.layout->tls_state + sizeof(void*)));
  s.loader.deallocate_tls(tp, false);
}

}  // namespace greenrun::rt::tls
