// Intrusive FIFO of parked threads. Waiter records live on the parked thread's own stack, so
// waiting allocates nothing. Invariant: a Waiter is linked exactly while its thread waits on
// the list; whoever wakes it unlinks it first, and a thread that wakes for another reason
// (timeout, interruption) unlinks itself.
#pragma once

namespace greenrun::rt {

struct GreenThread;

struct Waiter {
  GreenThread* thread = nullptr;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool linked = false;
  void* item = nullptr;  // a value handed over directly (Queue, AsyncResult), if any
  unsigned bits = ~0u;   // futex bitset: which wake-ups this waiter accepts
};

class WaitList {
 public:
  bool empty() const { return head_ == nullptr; }
  Waiter* front() const { return head_; }

  void push_back(Waiter* w) {
    w->prev = tail_;
    w->next = nullptr;
    if (tail_) tail_->next = w; else head_ = w;
    tail_ = w;
    w->linked = true;
  }

  void remove(Waiter* w) {
    if (!w->linked) return;
    if (w->prev) w->prev->next = w->next; else head_ = w->next;
    if (w->next) w->next->prev = w->prev; else tail_ = w->prev;
    w->prev = w->next = nullptr;
    w->linked = false;
  }

  Waiter* pop_front() {
    Waiter* w = head_;
    if (w) remove(w);
    return w;
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace greenrun::rt
