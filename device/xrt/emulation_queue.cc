#include "device/xrt/emulation_queue.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace fabric {

EmulationQueue::EmulationQueue() : thread_([this] { Loop(); }) {}

EmulationQueue::~EmulationQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

uint64_t EmulationQueue::Submit(Job job) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  entries_[id].job = std::move(job);
  pending_.push_back(id);
  return id;
}

void EmulationQueue::Loop() {
  for (;;) {
    uint64_t id;
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;  // stopping with nothing left to run
      id = pending_.front();
      pending_.pop_front();
      job = std::move(entries_[id].job);
    }
    const absl::Time start = absl::Now();
    absl::Status status = job();
    const absl::Duration ran = absl::Now() - start;
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[id];
    entry.done = true;
    entry.status = std::move(status);
    entry.ran = ran;
  }
}

absl::StatusOr<absl::Duration> EmulationQueue::Wait(uint64_t id, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return absl::NotFoundError(absl::StrCat("no run ", id));
  const Entry& entry = it->second;
  auto done = [&entry]() { return entry.done; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("run ", id, " has not finished after ", absl::FormatDuration(timeout)));
  }
  absl::StatusOr<absl::Duration> result =
      entry.status.ok() ? absl::StatusOr<absl::Duration>(entry.ran) : entry.status;
  entries_.erase(it);
  return result;
}

}  // namespace fabric
