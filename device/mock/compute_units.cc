#include "device/mock/compute_units.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fabric {
namespace {

// How long idle threads poll before sleeping: longer than the gap between two launches of
// one forward pass, far shorter than a scheduler tick.
constexpr auto kSpin = std::chrono::microseconds(100);

inline void CpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

}  // namespace

ComputeUnits::ComputeUnits(int count) {
  for (int i = 1; i < count; ++i) helpers_.emplace_back([this] { HelperLoop(); });
}

ComputeUnits::~ComputeUnits() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& helper : helpers_) helper.join();
}

int ComputeUnits::PartsFor(int items, std::optional<absl::Duration> last_work) const {
  const int most = std::clamp(items, 0, count());
  if (!last_work.has_value() || most == 0) return most;
  return std::clamp(static_cast<int>(*last_work / kMinPartWork), 1, most);
}

uint64_t ComputeUnits::Submit(std::function<void(int)> work, int parts) {
  auto job = std::make_shared<Job>();
  job->work = std::move(work);
  job->parts = std::max(parts, 0);
  bool wake;
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    jobs_.emplace(id, job);
    if (job->parts > 0) {
      pending_.push_back(job);
      pending_count_.fetch_add(1, std::memory_order_release);
    }
    wake = sleeping_helpers_ > 0 && job->parts > 1;
  }
  if (wake) work_ready_.notify_all();
  return id;
}

bool ComputeUnits::TakePart(Job* only, std::shared_ptr<Job>* job, int* part) {
  if (pending_.empty()) return false;
  std::shared_ptr<Job>& front = pending_.front();
  if (only != nullptr && front.get() != only) {
    // Jobs start in order: this job's parts are all taken once it is no longer pending.
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [only](const std::shared_ptr<Job>& j) { return j.get() == only; });
    if (it == pending_.end()) return false;
    std::rotate(pending_.begin(), it, it + 1);  // the waiter's job is needed now: move it first
  }
  *job = pending_.front();
  *part = (*job)->next_part++;
  if ((*job)->next_part == (*job)->parts) {
    pending_.pop_front();
    pending_count_.fetch_sub(1, std::memory_order_relaxed);
  }
  return true;
}

void ComputeUnits::RunPart(Job& job, int part) {
  const int64_t start = Clock::now().time_since_epoch().count();
  job.work(part);
  const int64_t end = Clock::now().time_since_epoch().count();
  job.part_ticks.fetch_add(end - start, std::memory_order_relaxed);
  int64_t seen = job.first_start.load(std::memory_order_relaxed);
  while (start < seen && !job.first_start.compare_exchange_weak(seen, start)) {
  }
  seen = job.last_end.load(std::memory_order_relaxed);
  while (end > seen && !job.last_end.compare_exchange_weak(seen, end)) {
  }
  if (job.done_parts.fetch_add(1, std::memory_order_acq_rel) + 1 == job.parts) {
    std::lock_guard<std::mutex> lock(mu_);  // so a waiter cannot miss the notification
    job_done_.notify_all();
  }
}

void ComputeUnits::HelperLoop() {
  for (;;) {
    std::shared_ptr<Job> job;
    int part;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!TakePart(nullptr, &job, &part)) {
        lock.unlock();
        const auto spin_until = Clock::now() + kSpin;
        while (pending_count_.load(std::memory_order_acquire) == 0 && Clock::now() < spin_until) {
          CpuRelax();
        }
        lock.lock();
        if (!TakePart(nullptr, &job, &part)) {
          if (stopping_) return;
          ++sleeping_helpers_;
          work_ready_.wait(lock, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return stopping_ || !pending_.empty();
          });
          --sleeping_helpers_;
          continue;
        }
      }
    }
    RunPart(*job, part);
  }
}

absl::StatusOr<ComputeUnits::JobTimes> ComputeUnits::Wait(uint64_t id, absl::Duration timeout) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no running job ", id));
    job = it->second;
  }
  // Do what is left of the job here rather than sleep while it waits for a helper.
  for (;;) {
    std::shared_ptr<Job> taken;
    int part;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!TakePart(job.get(), &taken, &part)) break;
    }
    RunPart(*taken, part);
  }
  auto done = [&job] { return job->done_parts.load(std::memory_order_acquire) == job->parts; };
  const auto spin_until = Clock::now() + kSpin;
  while (!done() && Clock::now() < spin_until) CpuRelax();
  std::unique_lock<std::mutex> lock(mu_);
  if (!job_done_.wait_for(lock, absl::ToChronoNanoseconds(timeout), done)) {
    return absl::DeadlineExceededError(
        absl::StrCat("job ", id, " did not finish within ", absl::FormatDuration(timeout)));
  }
  jobs_.erase(id);
  if (job->parts == 0) return JobTimes{};
  return JobTimes{absl::FromChrono(Clock::duration(job->last_end.load() - job->first_start.load())),
                  absl::FromChrono(Clock::duration(job->part_ticks.load()))};
}

}  // namespace fabric
