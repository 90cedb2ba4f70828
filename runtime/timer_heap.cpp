#include "timer_heap.h"

namespace greenrun::rt {

void TimerHeap::add(TimerNode* node) {
  nodes_.push_back(node);
  node->heap_index = nodes_.size() - 1;
  sift_up(node->heap_index);
}

void TimerHeap::remove(TimerNode* node) {
  if (!node->queued()) return;
  std::size_t i = node->heap_index;
  TimerNode* last = nodes_.back();
  nodes_.pop_back();
  node->heap_index = TimerNode::kNotQueued;
  if (last == node) return;
  place(i, last);
  sift_up(i);
  sift_down(last->heap_index);
}

void TimerHeap::fire_due(Nanos now) {
  while (!nodes_.empty() && nodes_.front()->deadline <= now) {
    TimerNode* n = nodes_.front();
    remove(n);
    n->fire(n);
  }
}

void TimerHeap::sift_up(std::size_t i) {
  TimerNode* n = nodes_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (nodes_[parent]->deadline <= n->deadline) break;
    place(i, nodes_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerHeap::sift_down(std::size_t i) {
  TimerNode* n = nodes_[i];
  const std::size_t count = nodes_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= count) break;
    if (child + 1 < count && nodes_[child + 1]->deadline < nodes_[child]->deadline) ++child;
    if (n->deadline <= nodes_[child]->deadline) break;
    place(i, nodes_[child]);
    i = child;
  }
  place(i, n);
}

}  // namespace greenrun::rt
