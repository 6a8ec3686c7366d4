// A mock card's compute units: worker threads that share out the parts of each launch.
#ifndef FABRIC_DEVICE_MOCK_COMPUTE_UNITS_H_
#define FABRIC_DEVICE_MOCK_COMPUTE_UNITS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fabric {

// Owned by a MockDevice. Submit and Wait are thread-safe; jobs start in submission order.
class ComputeUnits {
 public:
  explicit ComputeUnits(int count);
  ~ComputeUnits();
  ComputeUnits(const ComputeUnits&) = delete;
  ComputeUnits& operator=(const ComputeUnits&) = delete;

  int count() const { return static_cast<int>(threads_.size()); }

  // Runs work(part) for part in [0, parts) across the units and returns a job id at once.
  uint64_t Submit(std::function<void(int part)> work, int parts);
  // Waits for job `id` and returns its busy time, from its first part starting to its last
  // ending. DeadlineExceeded if it is still running after `timeout` (it stays waitable);
  // NotFound for an unknown or already waited-for job.
  absl::StatusOr<absl::Duration> Wait(uint64_t id, absl::Duration timeout);

 private:
  struct Job {
    std::function<void(int)> work;
    int parts = 0;
    int next_part = 0;
    int done_parts = 0;
    absl::Time started;
    absl::Time finished;
  };

  void Loop();

  absl::Mutex mu_;
  std::deque<uint64_t> pending_ ABSL_GUARDED_BY(mu_);  // jobs with parts not yet started
  std::unordered_map<uint64_t, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_MOCK_COMPUTE_UNITS_H_
