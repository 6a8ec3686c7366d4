// Orders commands across cards: a command on one card's queue waits for a signal that a
// command on another card's queue gives (like an XRT/OpenCL event between two queues).
#ifndef FABRIC_DEVICE_FENCE_H_
#define FABRIC_DEVICE_FENCE_H_

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fabric {

// Counts signals until it has `expected` of them. A failed signaller poisons it, so waiters
// fail instead of hanging. Thread-safe.
class Fence {
 public:
  explicit Fence(int expected = 1) : expected_(expected) {}

  void Signal(bool ok = true);
  // Waits for every signal; Aborted if one came from a failed card, DeadlineExceeded after
  // `timeout`.
  absl::Status Wait(absl::Duration timeout);

 private:
  const int expected_;
  absl::Mutex mu_;
  int signals_ ABSL_GUARDED_BY(mu_) = 0;
  bool poisoned_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_FENCE_H_
