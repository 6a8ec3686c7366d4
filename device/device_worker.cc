#include "device/device_worker.h"

#include <utility>

#include "common/status_macros.h"
#include "common/watch_briefly.h"

namespace fabric {

DeviceWorker::DeviceWorker(std::unique_ptr<Device> device, absl::Duration launch_timeout)
    : device_(std::move(device)), launch_timeout_(launch_timeout), thread_([this] { Loop(); }) {}

DeviceWorker::~DeviceWorker() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DeviceWorker::Enqueue(Command command) {
  absl::MutexLock lock(&mu_);
  queue_.push_back({std::move(command), nullptr});
  outstanding_.fetch_add(1, std::memory_order_relaxed);
}

void DeviceWorker::Signal(std::shared_ptr<Fence> fence) {
  absl::MutexLock lock(&mu_);
  queue_.push_back({nullptr, std::move(fence)});
  outstanding_.fetch_add(1, std::memory_order_relaxed);
}

void DeviceWorker::WaitFor(std::shared_ptr<Fence> fence) {
  Enqueue([this, fence = std::move(fence)](Device&) { return fence->Wait(launch_timeout_); });
}

absl::Status DeviceWorker::Sync() {
  WatchBriefly([this] { return idle(); });
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && !busy_; };
  mu_.Await(absl::Condition(&idle));
  return std::exchange(first_error_, absl::OkStatus());
}

void DeviceWorker::Loop() {
  for (;;) {
    Entry entry;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping with nothing left to run
      entry = std::move(queue_.front());
      queue_.pop_front();
      if (entry.signal != nullptr) {
        entry.signal->Signal(first_error_.ok());
        CountDone();
        continue;
      }
      if (!first_error_.ok()) {  // skip: an earlier command of this batch failed
        CountDone();
        continue;
      }
      busy_ = true;
    }
    absl::Status status = entry.command(*device_);
    absl::MutexLock lock(&mu_);
    busy_ = false;
    if (!status.ok() && first_error_.ok()) first_error_ = std::move(status);
    CountDone();
  }
}

void DeviceWorker::CountDone() {
  if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1 && on_idle_) on_idle_();
}

void DeviceWorker::OnIdle(std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  on_idle_ = std::move(callback);
}

void DeviceWorker::Write(BufferId buffer, size_t offset, std::span<const uint8_t> data) {
  Enqueue([=](Device& device) { return device.Write(buffer, offset, data); });
}

void DeviceWorker::Write(BufferId buffer, size_t offset, std::vector<uint8_t> data) {
  Enqueue([=, data = std::move(data)](Device& device) {
    return device.Write(buffer, offset, data);
  });
}

void DeviceWorker::Read(BufferId buffer, size_t offset, std::span<uint8_t> out) {
  Enqueue([=](Device& device) { return device.Read(buffer, offset, out); });
}

void DeviceWorker::Launch(std::string kernel, std::vector<KernelArg> args) {
  Enqueue([this, kernel = std::move(kernel), args = std::move(args)](Device& device) {
    ASSIGN_OR_RETURN(RunHandle run, device.Launch(kernel, args));
    return device.Wait(run, launch_timeout_);
  });
}

absl::StatusOr<BufferId> DeviceWorker::Allocate(size_t bytes, std::string bank,
                                                MemoryKind kind) {
  RETURN_IF_ERROR(Sync());
  absl::StatusOr<BufferId> result;
  Enqueue([&](Device& device) {
    result = device.Allocate(bytes, bank, kind);
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(Sync());
  return result;
}

absl::Status DeviceWorker::Free(BufferId buffer) {
  Enqueue([buffer](Device& device) { return device.Free(buffer); });
  return Sync();
}

}  // namespace fabric
