// The scheduler park behind Backoff::park (kept out of the header, which needs no Hub).
#include "backoff.h"

#include "hub.h"

namespace greenrun::rt {

Wake Backoff::park(WaitReason reason, const void* on) {
  Scheduler& scheduler = current()->hub->scheduler();
  return park_with([&](Nanos until) { return scheduler.park(reason, on, until); });
}

}  // namespace greenrun::rt
