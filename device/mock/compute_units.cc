#include "device/mock/compute_units.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fabric {

ComputeUnits::ComputeUnits(int count) {
  threads_.reserve(std::max(count, 1));
  for (int i = 0; i < std::max(count, 1); ++i) threads_.emplace_back([this] { Loop(); });
}

ComputeUnits::~ComputeUnits() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

uint64_t ComputeUnits::Submit(std::function<void(int)> work, int parts) {
  auto job = std::make_unique<Job>();
  job->work = std::move(work);
  job->parts = std::max(parts, 0);
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  if (job->parts > 0) pending_.push_back(id);
  jobs_.emplace(id, std::move(job));
  return id;
}

absl::StatusOr<absl::Duration> ComputeUnits::Wait(uint64_t id, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no running job ", id));
  Job* job = it->second.get();
  auto done = [job]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return job->done_parts == job->parts; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("job ", id, " did not finish within ", absl::FormatDuration(timeout)));
  }
  const absl::Duration busy =
      job->parts == 0 ? absl::ZeroDuration() : job->finished - job->started;
  jobs_.erase(it);
  return busy;
}

void ComputeUnits::Loop() {
  for (;;) {
    Job* job;
    int part;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&has_work));
      if (pending_.empty()) return;  // stopping, nothing left
      job = jobs_.at(pending_.front()).get();
      part = job->next_part++;
      if (part == 0) job->started = absl::Now();
      if (job->next_part == job->parts) pending_.pop_front();
    }
    job->work(part);
    absl::MutexLock lock(&mu_);
    if (++job->done_parts == job->parts) job->finished = absl::Now();
  }
}

}  // namespace fabric
