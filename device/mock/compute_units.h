// A mock card's compute units: threads that share out the parts of each kernel launch.
#ifndef FABRIC_DEVICE_MOCK_COMPUTE_UNITS_H_
#define FABRIC_DEVICE_MOCK_COMPUTE_UNITS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fabric {

// `count` compute units: count - 1 helper threads plus whichever thread waits for a job, which
// runs parts of it itself. Launches come back to back and are short, so handing every part to
// another thread and sleeping until it is done would cost more in wake-ups than the kernels
// take; helpers also spin briefly for the next job before they sleep.
// Owned by a MockDevice. Submit and Wait are thread-safe. Helpers take jobs in submission
// order; a waiter takes its own job's parts first.
class ComputeUnits {
 public:
  explicit ComputeUnits(int count);
  ~ComputeUnits();
  ComputeUnits(const ComputeUnits&) = delete;
  ComputeUnits& operator=(const ComputeUnits&) = delete;

  int count() const { return static_cast<int>(helpers_.size()) + 1; }

  // How many parts to split `items` work items into: one a unit, but no more than the items,
  // and, where the same work last took `last_work` of CPU time, no more than give each part
  // kMinPartWork of it (handing a part to another thread costs tens of microseconds on a busy
  // host, more than a small model's launch takes whole).
  static constexpr absl::Duration kMinPartWork = absl::Microseconds(50);
  int PartsFor(int items, std::optional<absl::Duration> last_work) const;

  // Queues work(part) for part in [0, parts) and returns a job id at once; helper threads
  // start on it, and Wait finishes it.
  uint64_t Submit(std::function<void(int part)> work, int parts);
  struct JobTimes {
    absl::Duration busy;  // first part started to last part finished
    absl::Duration work;  // the parts' own times, summed: what one unit alone would take
  };
  // Runs the job's remaining parts on this thread, waits for the rest, and returns its times.
  // DeadlineExceeded if parts running elsewhere have not finished after `timeout` (the job
  // stays waitable); NotFound for an unknown or already waited-for job.
  absl::StatusOr<JobTimes> Wait(uint64_t id, absl::Duration timeout);

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    std::function<void(int)> work;
    int parts = 0;
    int next_part = 0;                   // guarded by mu_
    std::atomic<int> done_parts{0};
    // Earliest part start and latest part end, in Clock ticks. Each part updates them before
    // it counts itself done, so a waiter that sees every part done sees both.
    std::atomic<int64_t> first_start{std::numeric_limits<int64_t>::max()};
    std::atomic<int64_t> last_end{std::numeric_limits<int64_t>::min()};
    std::atomic<int64_t> part_ticks{0};  // the parts' durations, summed
  };

  // Takes the next unstarted part of `job` (any job when null); false when there is none.
  bool TakePart(Job* only, std::shared_ptr<Job>* job, int* part) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunPart(Job& job, int part);
  void HelperLoop();

  std::mutex mu_;
  std::condition_variable work_ready_;   // helpers sleep here
  std::condition_variable job_done_;     // waiters sleep here
  std::deque<std::shared_ptr<Job>> pending_ ABSL_GUARDED_BY(mu_);  // jobs with parts to start
  std::unordered_map<uint64_t, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int sleeping_helpers_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> pending_count_{0};    // pending_.size(), for lock-free spinning
  std::vector<std::thread> helpers_;
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_MOCK_COMPUTE_UNITS_H_
