#include "sync/address_waiters.h"

#include "hub.h"

namespace greenrun::rt {

Wake AddressWaiters::wait(const void* address, Waiter& w, WaitReason reason, Nanos deadline) {
  WaitList& list = lists_[address];
  Wake why = current()->hub->scheduler().wait_on(list, w, reason, address, deadline);
  // wait_on unlinked us; the list object may have been erased and recreated meanwhile, so
  // look it up again rather than trusting the reference.
  auto it = lists_.find(address);
  if (it != lists_.end() && it->second.empty()) lists_.erase(it);
  return why;
}

std::size_t AddressWaiters::wake(const void* address, std::size_t count, unsigned bits,
                                 void* item) {
  auto it = lists_.find(address);
  if (it == lists_.end()) return 0;
  Scheduler& scheduler = current()->hub->scheduler();
  std::size_t woken = 0;
  for (Waiter* w = it->second.front(); w && woken < count;) {
    Waiter* next = w->next;
    if (w->bits & bits) {
      it->second.remove(w);
      w->item = item;
      scheduler.ready(w->thread);
      ++woken;
    }
    w = next;
  }
  if (it->second.empty()) lists_.erase(it);
  return woken;
}

GreenThread* AddressWaiters::wake_first(const void* address) {
  auto it = lists_.find(address);
  if (it == lists_.end()) return nullptr;
  Waiter* w = it->second.pop_front();
  // A dead waiter (a thread of the parent, in a fork child) would take a hand-over with it.
  while (w && w->thread->dead()) w = it->second.pop_front();
  if (it->second.empty()) lists_.erase(it);
  if (!w) return nullptr;
  current()->hub->scheduler().ready(w->thread);
  return w->thread;
}

void AddressWaiters::forget_all() { lists_.clear(); }

std::size_t AddressWaiters::move(const void* from, const void* to, std::size_t count) {
  auto it = lists_.find(from);
  if (it == lists_.end() || from == to) return 0;
  WaitList& source = it->second;  // references survive a rehash, iterators do not
  std::size_t moved = 0;
  while (moved < count && !source.empty()) {
    Waiter* w = source.pop_front();
    lists_[to].push_back(w);
    ++moved;
  }
  if (source.empty()) lists_.erase(from);
  return moved;
}

std::size_t AddressWaiters::waiter_count(const void* address) const {
  auto it = lists_.find(address);
  if (it == lists_.end()) return 0;
  std::size_t n = 0;
  for (Waiter* w = it->second.front(); w; w = w->next) ++n;
  return n;
}

}  // namespace greenrun::rt
