// MockDevice: a card emulated in host memory, running the g++-compiled HLS kernels.
#ifndef FABRIC_DEVICE_MOCK_MOCK_DEVICE_H_
#define FABRIC_DEVICE_MOCK_MOCK_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "device/device.h"
#include "device/mock/compute_units.h"

namespace fabric {

struct MockDeviceOptions {
  std::string name = "mock0";
  // Memory banks; empty means one bank "HBM" of `memory_bytes`.
  std::vector<MemoryBankInfo> banks;
  uint64_t memory_bytes = uint64_t{8} << 30;
  // Threads a launch's [begin, end) range is split across.
  int compute_units = 1;
  // Kernels the emulated bitstream offers; empty means all of kernels/kernel_signatures.h.
  std::vector<std::string> kernels;
};

// Driven by one thread (its DeviceWorker); stats() is thread-safe.
class MockDevice : public Device {
 public:
  static absl::StatusOr<std::unique_ptr<MockDevice>> Create(MockDeviceOptions options);

  const DeviceInfo& info() const override { return info_; }
  DeviceStats stats() const override;

  absl::StatusOr<BufferId> Allocate(size_t bytes, std::string_view bank,
                                    MemoryKind kind) override;
  absl::Status Free(BufferId buffer) override;
  absl::Status Write(BufferId buffer, size_t offset, std::span<const uint8_t> data) override;
  absl::Status Read(BufferId buffer, size_t offset, std::span<uint8_t> out) override;
  absl::StatusOr<RunHandle> Launch(std::string_view kernel,
                                   std::span<const KernelArg> args) override;
  absl::Status Wait(RunHandle run, absl::Duration timeout) override;

 private:
  struct AlignedDelete {
    void operator()(uint8_t* memory) const;
  };
  struct Allocation {
    std::unique_ptr<uint8_t[], AlignedDelete> memory;
    size_t bytes;
    int bank;
    MemoryKind kind;
  };

  explicit MockDevice(DeviceInfo info);
  absl::StatusOr<Allocation*> Find(BufferId buffer, size_t offset, size_t bytes,
                                   const std::string& what);

  const DeviceInfo info_;
  std::unordered_map<BufferId, Allocation> buffers_;
  std::vector<uint64_t> bank_used_;
  BufferId next_buffer_ = 1;
  ComputeUnits compute_units_;

  mutable absl::Mutex stats_mu_;
  DeviceStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_MOCK_MOCK_DEVICE_H_
