// One thread per card that executes the card's commands in order.
#ifndef FABRIC_DEVICE_DEVICE_WORKER_H_
#define FABRIC_DEVICE_DEVICE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "device/device.h"
#include "device/fence.h"

namespace fabric {

// Owns a Device and the only thread that touches it. Commands are queued from any thread and
// run in submission order; after a command fails, the rest of the queue is skipped and the
// first error is kept until Sync() reports it. Thread-safe.
class DeviceWorker {
 public:
  using Command = std::function<absl::Status(Device&)>;

  // `launch_timeout` bounds each kernel launch's wait.
  explicit DeviceWorker(std::unique_ptr<Device> device,
                        absl::Duration launch_timeout = absl::Minutes(5));
  ~DeviceWorker();
  DeviceWorker(const DeviceWorker&) = delete;
  DeviceWorker& operator=(const DeviceWorker&) = delete;

  const DeviceInfo& info() const { return device_->info(); }
  DeviceStats stats() const { return device_->stats(); }

  void Enqueue(Command command);
  // Signals `fence` when the commands before it have run, or have been skipped after a
  // failure (then it is poisoned): cards waiting on this one never hang.
  void Signal(std::shared_ptr<Fence> fence);
  // Holds this card's queue until `fence` is signalled (bounded by the launch timeout).
  void WaitFor(std::shared_ptr<Fence> fence);
  // Waits until every command enqueued so far has run; returns and clears the first error.
  absl::Status Sync();
  // True when nothing is queued or running, so Sync would not wait.
  bool idle() const { return outstanding_.load(std::memory_order_acquire) == 0; }
  // From now on calls `callback` (none if null) on the worker thread, under its lock, whenever
  // its queue runs dry; the callback must not call into this worker.
  void OnIdle(std::function<void()> callback);

  // Queued conveniences. Spans must stay valid until the next Sync().
  void Write(BufferId buffer, size_t offset, std::span<const uint8_t> data);
  void Write(BufferId buffer, size_t offset, std::vector<uint8_t> data);  // copies
  void Read(BufferId buffer, size_t offset, std::span<uint8_t> out);
  // Launches and waits for the run, so the next command sees its results.
  void Launch(std::string kernel, std::vector<KernelArg> args);

  // Synchronous: queue, wait, return.
  absl::StatusOr<BufferId> Allocate(size_t bytes, std::string bank, MemoryKind kind);
  absl::Status Free(BufferId buffer);

 private:
  void Loop();
  // Counts one command done (run, skipped or a fence signalled); calls on_idle_ at zero.
  void CountDone() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<Device> device_;
  const absl::Duration launch_timeout_;
  absl::Mutex mu_;
  struct Entry {
    Command command;                   // skipped after a failure
    std::shared_ptr<Fence> signal;     // or: a fence to signal whatever happened
  };
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  // Commands queued or running, readable without the lock: Sync watches it briefly before it
  // sleeps, since waking a sleeping thread costs tens of microseconds a step.
  std::atomic<size_t> outstanding_{0};
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // a command is running
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_idle_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_DEVICE_WORKER_H_
