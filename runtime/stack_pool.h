// Stacks for green threads: lazily committed memory with an overflow guard, carved from slabs
// of kSlabStacks stacks (one mmap each) and reused after a thread exits. Invariant: every Stack
// handed out has exactly one kind of guard, recorded in it, and the pool alone maps stack memory.
// Freed stacks are never unmapped (munmap of one stack splits a slab's mapping and costs more
// than everything else about a thread); beyond kCachedPerSize their pages go back to the kernel
// with MADV_DONTNEED instead, in batches of adjacent stacks (guards survive MADV_DONTNEED).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace greenrun::rt {

// How a stack's overflow is caught, from cheapest to last resort.
enum class GuardKind : std::uint8_t {
  guard_region,  // madvise(MADV_GUARD_INSTALL): faults below the stack, no extra mapping
  guard_page,    // mprotect(PROT_NONE) page: faults, but splits the mapping (vm.max_map_count)
  canary,        // a value at the lowest word, checked at every switch away from the thread
  none,          // asked for (guard size 0), or memory the program supplied: as with glibc
};

struct Stack {
  void* mapping = nullptr;       // start of the whole mmap, guard included
  std::size_t mapping_size = 0;
  void* lo = nullptr;            // lowest usable byte; the stack grows down towards it
  std::size_t size = 0;          // usable bytes
  std::size_t guard_size = 0;    // bytes of guard below `lo` (0 for none)
  GuardKind guard = GuardKind::canary;

  void* hi() const { return static_cast<char*>(lo) + size; }
  bool contains(const void* p) const { return p >= mapping && p < hi(); }
  // True when `addr` is in the guard, or just below the usable range (an overflowing frame).
  bool overflow_address(const void* addr) const;
};

class StackPool {
 public:
  static constexpr std::size_t kMinimumSize = 16 * 1024;
  static constexpr std::size_t kDefaultSize = 64 * 1024;
  static constexpr std::size_t kCachedPerSize = 1024;  // keep their pages: reuse is free
  static constexpr std::size_t kSlabStacks = 64;

  StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();

  // 0 on success; -EINVAL when size is below kMinimumSize; -ENOMEM when mmap fails.
  // `guard_size` (rounded up to pages; 0 for none) is the guard below the stack, as
  // pthread_attr_setguardsize asks; kDefaultGuard is one page.
  static constexpr std::size_t kDefaultGuard = ~std::size_t{0};
  int acquire(std::size_t size, Stack& out, std::size_t guard_size = kDefaultGuard);
  void release(Stack& stack);

  // Free stacks beyond kCachedPerSize of a size give their pages back, in batches of adjacent
  // stacks, when the hub is about to wait rather than as threads exit.
  bool has_excess() const { return has_excess_; }
  void trim_excess();

  // For canary stacks: false once something wrote over the lowest word.
  static bool canary_intact(const Stack& stack);

  std::size_t page_size() const { return page_size_; }
  std::size_t guard_pages_left() const { return guard_page_budget_; }
  // Forces the fallbacks, so tests can exercise guard_page and canary on any kernel.
  void limit_guards(bool allow_guard_region, std::size_t guard_page_budget);

 private:
  void install_guard(Stack& stack);
  bool guard_whole_slab(char* base, std::size_t stride, std::size_t guard_size);
  using Shape = std::pair<std::size_t, std::size_t>;  // usable size, guard size
  struct ShapeHash {
    std::size_t operator()(const Shape& s) const { return s.first ^ (s.second << 20); }
  };

  std::size_t page_size_;
  bool guard_region_works_ = true;   // until the kernel answers EINVAL once
  std::size_t guard_page_budget_;    // mprotect guards we may still add
  struct Slab {  // the part of the newest mapping of one stack size not yet handed out
    char* next = nullptr;
    std::size_t left = 0;
    bool guarded = false;  // every stack's guard region was installed with the mapping
  };
  // Free stacks of one size: the first `trimmed` gave their pages back; the rest kept them and
  // are taken first (from the back).
  struct FreeStacks {
    std::deque<Stack> stacks;
    std::size_t trimmed = 0;
  };
  void trim(FreeStacks& free);
  FreeStacks& free_stacks(const Shape& shape);
  FreeStacks* last_free_ = nullptr;
  bool has_excess_ = false;
  Shape last_shape_;
  std::unordered_map<Shape, FreeStacks, ShapeHash> free_by_shape_;
  std::unordered_map<Shape, Slab, ShapeHash> slabs_;
  std::vector<std::pair<void*, std::size_t>> mappings_;
};

}  // namespace greenrun::rt
