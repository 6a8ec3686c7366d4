// The thread on which an XrtDevice emulates its kernels under XRT's no-op shim: each job waits
// for its XRT runs and then computes the g++-compiled kernel on the mapped buffers, in launch
// order, while the device's own thread goes on launching; Wait collects a job with a timeout.
#ifndef FABRIC_DEVICE_XRT_EMULATION_QUEUE_H_
#define FABRIC_DEVICE_XRT_EMULATION_QUEUE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fabric {

// Owned by an XrtDevice. Submit and Wait are thread-safe; jobs run one at a time on the queue's
// thread, in submission order. The destructor finishes the queued jobs before it returns.
class EmulationQueue {
 public:
  using Job = std::function<absl::Status()>;

  EmulationQueue();
  ~EmulationQueue();
  EmulationQueue(const EmulationQueue&) = delete;
  EmulationQueue& operator=(const EmulationQueue&) = delete;

  // Queues `job` and returns its id (never 0) at once.
  uint64_t Submit(Job job);
  // Waits for job `id` and returns how long it ran, or its error. DeadlineExceeded if it has not
  // finished within `timeout` (it stays waitable); NotFound for an unknown or collected id.
  absl::StatusOr<absl::Duration> Wait(uint64_t id, absl::Duration timeout);

 private:
  struct Entry {
    Job job;  // emptied once run
    bool done = false;
    absl::Status status;
    absl::Duration ran;
  };

  void Loop();

  absl::Mutex mu_;
  std::deque<uint64_t> pending_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_EMULATION_QUEUE_H_
