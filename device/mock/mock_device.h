// MockDevice: a card emulated in host memory, running the g++-compiled HLS kernels; optionally
// timed like the card it stands in for (card_timing.h).
#ifndef FABRIC_DEVICE_MOCK_MOCK_DEVICE_H_
#define FABRIC_DEVICE_MOCK_MOCK_DEVICE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "device/device.h"
#include "device/mock/card_timing.h"
#include "device/mock/compute_units.h"

namespace fabric {

struct MockDeviceOptions {
  std::string name = "mock0";
  // Memory banks; empty means one bank "HBM" of `memory_bytes`.
  std::vector<MemoryBankInfo> banks;
  uint64_t memory_bytes = uint64_t{8} << 30;
  // Threads a launch's [begin, end) range is split across at most; a launch whose last run
  // of the same kernel and range length took less than 50 us of CPU time a part gets fewer.
  int compute_units = 1;
  // Kernels the emulated bitstream offers; empty means all of kernels/kernel_signatures.h.
  std::vector<std::string> kernels;
  // Timing emulation. When set, the mock keeps the emulated card's clock: every launch and
  // every Write or Read occupies the card for timing->launch_seconds or
  // timing->transfer_seconds, from when it is issued or the card finishes its earlier work,
  // whichever is later. A Read returns no earlier than the clock reaches its end, so results
  // reach the host no earlier than the card would deliver them; a launch's Wait returns once
  // the CPU has computed it, letting the CPU work ahead of the clock, so a launch the CPU
  // computes slower than the card is made up by faster ones (only a launch that finishes
  // after its emulated end delays the card: an overrun). Busy time is the emulated kernel
  // time. Unset, the mock runs as fast as the CPU computes.
  std::optional<CardTiming> timing;
};

// Driven by one thread (its DeviceWorker); stats() is thread-safe. With timing, info().emulates
// names the emulated card and stats().emulation says how faithfully it was kept to.
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
  using Clock = std::chrono::steady_clock;
  struct AlignedDelete {
    void operator()(uint8_t* memory) const;
  };
  struct Allocation {
    std::unique_ptr<uint8_t[], AlignedDelete> memory;
    size_t bytes;
    int bank;
    MemoryKind kind;
  };

  // A launch's arguments checked against its kernel's spec, buffers resolved to addresses.
  struct ResolvedLaunch {
    std::vector<ResolvedArg> args;
    std::vector<size_t> buffer_bytes;  // readable bytes from each buffer argument's address
  };
  // A timed launch: when it ends on the emulated card, and how long it takes there.
  struct EmulatedRun {
    Clock::time_point end;
    double seconds;
  };

  MockDevice(DeviceInfo info, std::optional<CardTiming> timing);
  absl::StatusOr<Allocation*> Find(BufferId buffer, size_t offset, size_t bytes,
                                   const std::string& what);
  absl::StatusOr<ResolvedLaunch> Resolve(std::string_view kernel, const KernelSpec& spec,
                                         std::span<const KernelArg> args);
  // A kernel, the length of its launch's work range and its other int arguments (token
  // counts, widths): launches of one shape recur every step and take about as long each time.
  struct LaunchShape {
    std::string_view kernel;  // a name in kKernelSpecs, which outlives every device
    int items = 0;
    uint64_t ints = 0;  // the other int arguments, folded (a collision only blurs the estimate)
    bool operator==(const LaunchShape&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const LaunchShape& shape) {
      return H::combine(std::move(h), shape.kernel, shape.items, shape.ints);
    }
  };
  // Compute units for a launch of `shape`: all that its range allows, fewer where the last
  // launch of that shape took too little CPU time for every part to be worth handing out.
  int PartsFor(const LaunchShape& shape) const;

  // The launch's time on the emulated card; nullopt when the mock runs untimed.
  absl::StatusOr<std::optional<double>> EmulatedSeconds(const KernelSpec& spec,
                                                        const ResolvedLaunch& launch) const;
  // Books `seconds` of the card's time for work issued at `start`; returns when it ends.
  Clock::time_point Occupy(Clock::time_point start, double seconds);
  // With timing, books a host transfer of `bytes` issued at `start`; a transfer to the host
  // blocks until it ends.
  void EmulateTransfer(Clock::time_point start, size_t bytes, bool to_host);

  const DeviceInfo info_;
  std::unordered_map<BufferId, Allocation> buffers_;
  std::vector<uint64_t> bank_used_;
  BufferId next_buffer_ = 1;
  ComputeUnits compute_units_;
  const std::optional<CardTiming> timing_;
  std::unordered_map<RunHandle, EmulatedRun> emulated_runs_;  // timed launches not waited for
  std::unordered_map<RunHandle, LaunchShape> launch_shapes_;  // launches not waited for
  // The CPU time of each shape's last launch, summed over its parts.
  absl::flat_hash_map<LaunchShape, absl::Duration> last_work_;
  Clock::time_point card_free_at_;  // the emulated card's clock: when it has done its work

  mutable absl::Mutex stats_mu_;
  DeviceStats stats_ ABSL_GUARDED_BY(stats_mu_);
  EmulationStats emulation_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_MOCK_MOCK_DEVICE_H_
