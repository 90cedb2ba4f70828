// Deadlines of parked green threads and Timeouts: a binary min-heap of intrusive nodes, driven
// by the hub's single uv_timer. Invariant: node.heap_index is kNotQueued exactly when the node
// is not in the heap, so cancelling twice or cancelling a fired timer is harmless.
#pragma once
#include <cstddef>
#include <vector>

#include "clock.h"

namespace greenrun::rt {

struct TimerNode {
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);
  Nanos deadline = kNever;
  std::size_t heap_index = kNotQueued;
  void (*fire)(TimerNode*) = nullptr;
  bool queued() const { return heap_index != kNotQueued; }
};

class TimerHeap {
 public:
  void add(TimerNode* node);
  void remove(TimerNode* node);
  bool empty() const { return nodes_.empty(); }
  std::size_t size() const { return nodes_.size(); }
  Nanos earliest() const { return nodes_.empty() ? kNever : nodes_.front()->deadline; }
  // Unlinks and fires every node due at `now`, earliest first. Fire may add or remove nodes.
  void fire_due(Nanos now);

 private:
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void place(std::size_t i, TimerNode* n) {
    nodes_[i] = n;
    n->heap_index = i;
  }
  std::vector<TimerNode*> nodes_;
};

}  // namespace greenrun::rt
