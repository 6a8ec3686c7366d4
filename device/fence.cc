#include "device/fence.h"

namespace fabric {

void Fence::Signal(bool ok) {
  absl::MutexLock lock(&mu_);
  ++signals_;
  if (!ok) poisoned_ = true;
}

absl::Status Fence::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return signals_ >= expected_ || poisoned_;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError("a card this step depends on did not respond in time");
  }
  if (poisoned_) return absl::AbortedError("a card this step depends on failed");
  return absl::OkStatus();
}

}  // namespace fabric
