// Stack pool. A guard costs nothing with MADV_GUARD_INSTALL (Linux 6.13+). Without it an
// mprotect guard page turns one mapping into two, and 100,000 of them would exceed the default
// vm.max_map_count of 65530, so mprotect guards are rationed to a quarter of the free map
// count and the rest get a canary word, checked whenever the thread switches away.
#include "stack_pool.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>


namespace greenrun::rt {
namespace {

constexpr int kMadvGuardInstall = 102;  // MADV_GUARD_INSTALL, not yet in glibc 2.36's headers
constexpr std::uint64_t kCanary = 0x6772656e72756e21ull;  // "grenrun!"

std::size_t count_lines(const char* path) {
  FILE* f = std::fopen(path, "re");
  if (!f) return 0;
  std::size_t lines = 0;
  for (int c; (c = std::fgetc(f)) != EOF;) lines += (c == '\n');
  std::fclose(f);
  return lines;
}

std::size_t read_number(const char* path, std::size_t fallback) {
  FILE* f = std::fopen(path, "re");
  if (!f) return fallback;
  unsigned long long v = 0;
  bool ok = std::fscanf(f, "%llu", &v) == 1;
  std::fclose(f);
  return ok ? static_cast<std::size_t>(v) : fallback;
}

}  // namespace

bool Stack::overflow_address(const void* addr) const {
  // Frames that overflow a little land in the guard; a large frame may jump further down, so
  // any address up to one guard's width below the mapping is attributed too.
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  auto base = reinterpret_cast<std::uintptr_t>(mapping);
  auto low = reinterpret_cast<std::uintptr_t>(lo);
  std::uintptr_t guard = low - base;
  return a < low && a + guard >= base;
}

StackPool::StackPool() : page_size_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))) {
  std::size_t max_maps = read_number("/proc/sys/vm/max_map_count", 65530);
  std::size_t used = count_lines("/proc/self/maps");
  guard_page_budget_ = max_maps > used ? (max_maps - used) / 4 : 0;
}

StackPool::~StackPool() {
  for (auto& [base, length] : mappings_) munmap(base, length);
}

void StackPool::limit_guards(bool allow_guard_region, std::size_t guard_page_budget) {
  guard_region_works_ = guard_region_works_ && allow_guard_region;
  guard_page_budget_ = guard_page_budget;
}

int StackPool::acquire(std::size_t size, Stack& out, std::size_t guard_size) {
  if (size < kMinimumSize) return -EINVAL;
  size = (size + page_size_ - 1) & ~(page_size_ - 1);
  guard_size = guard_size == kDefaultGuard ? page_size_
                                            : (guard_size + page_size_ - 1) & ~(page_size_ - 1);
  const Shape shape{size, guard_size};
  FreeStacks& free = free_stacks(shape);
  if (!free.stacks.empty()) {
    out = free.stacks.back();
    free.stacks.pop_back();
    if (free.trimmed > free.stacks.size()) free.trimmed = free.stacks.size();
    return 0;
  }
  const std::size_t stride = size + guard_size;
  Slab& slab = slabs_[shape];
  if (slab.left == 0) {
    std::size_t length = stride * kSlabStacks;
    void* m = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return -ENOMEM;
    mappings_.emplace_back(m, length);
    slab.next = static_cast<char*>(m);
    slab.left = kSlabStacks;
    slab.guarded = guard_size > 0 && guard_whole_slab(slab.next, stride, guard_size);
  }
  out = Stack{slab.next, stride, slab.next + guard_size, size, guard_size, GuardKind::canary};
  slab.next += stride;
  --slab.left;
  if (slab.guarded)
    out.guard = GuardKind::guard_region;
  else
    install_guard(out);
  return 0;
}

bool StackPool::guard_whole_slab(char* base, std::size_t stride, std::size_t guard_size) {
  if (!guard_region_works_) return false;
  // One process_madvise for every guard of the slab instead of one madvise per stack (which
  // was 97% of the system-call time of 100,000 new threads). A pidfd of our own process,
  // opened here so that a fork child never advises its parent's memory.
  iovec guards[kSlabStacks];
  for (std::size_t i = 0; i < kSlabStacks; ++i) guards[i] = iovec{base + i * stride, guard_size};
  int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  if (self >= 0) {
    long done = syscall(SYS_process_madvise, self, guards, kSlabStacks, kMadvGuardInstall, 0);
    close(self);
    if (done == static_cast<long>(kSlabStacks * guard_size)) return true;
  }
  return false;  // older kernels: each stack gets its guard when it is handed out
}

StackPool::FreeStacks& StackPool::free_stacks(const Shape& shape) {
  // Nearly every thread of a program has the same shape: skip the hash for a repeat.
  if (!last_free_ || last_shape_ != shape) {
    last_free_ = &free_by_shape_[shape];  // references into the map stay valid
    last_shape_ = shape;
  }
  return *last_free_;
}

void StackPool::install_guard(Stack& s) {
  if (s.guard_size == 0) {
    s.guard = GuardKind::none;
    return;
  }
  if (guard_region_works_) {
    if (madvise(s.mapping, s.guard_size, kMadvGuardInstall) == 0) {
      s.guard = GuardKind::guard_region;
      return;
    }
    guard_region_works_ = false;  // EINVAL: an older kernel
  }
  if (guard_page_budget_ > 0 && mprotect(s.mapping, s.guard_size, PROT_NONE) == 0) {
    --guard_page_budget_;
    s.guard = GuardKind::guard_page;
    return;
  }
  s.guard = GuardKind::canary;
  *static_cast<std::uint64_t*>(s.lo) = kCanary;
}

void StackPool::release(Stack& s) {
  if (!s.mapping) return;
  if (s.guard == GuardKind::canary) *static_cast<std::uint64_t*>(s.lo) = kCanary;
  FreeStacks& free = free_stacks(Shape{s.size, s.guard_size});
  free.stacks.push_back(s);
  s = Stack{};
  // Returning pages costs about as much as the faults that brought them in: not here, in the
  // middle of a burst of exits, but when the hub is about to wait (trim_excess).
  if (free.stacks.size() - free.trimmed > 2 * kCachedPerSize) has_excess_ = true;
}

void StackPool::trim_excess() {
  has_excess_ = false;
  for (auto& [shape, free] : free_by_shape_)
    if (free.stacks.size() - free.trimmed > kCachedPerSize) trim(free);
}

void StackPool::trim(FreeStacks& free) {
  // Everything above kCachedPerSize that still has pages: [trimmed, end - kCachedPerSize).
  std::size_t from = free.trimmed, to = free.stacks.size() - kCachedPerSize;
  std::vector<Stack> batch(free.stacks.begin() + from, free.stacks.begin() + to);
  std::sort(batch.begin(), batch.end(),
            [](const Stack& a, const Stack& b) { return a.mapping < b.mapping; });
  for (std::size_t i = 0; i < batch.size();) {
    const Stack& first = batch[i];
    if (first.guard == GuardKind::canary) {  // keep the canary's page, trim the rest
      madvise(static_cast<char*>(first.lo) + page_size_, first.size - page_size_, MADV_DONTNEED);
      ++i;
      continue;
    }
    char* end = static_cast<char*>(first.mapping) + first.mapping_size;
    std::size_t j = i + 1;
    while (j < batch.size() && batch[j].guard != GuardKind::canary && batch[j].mapping == end) {
      end += batch[j].mapping_size;
      ++j;
    }
    madvise(first.lo, static_cast<std::size_t>(end - static_cast<char*>(first.lo)), MADV_DONTNEED);
    i = j;
  }
  free.trimmed = to;
}

bool StackPool::canary_intact(const Stack& s) {
  return s.guard != GuardKind::canary || *static_cast<const std::uint64_t*>(s.lo) == kCanary;
}

}  // namespace greenrun::rt
