// The Device interface: what Fabric asks of a card. Everything above device/ speaks in buffers
// in card memory and kernel launches by name, which XRT offers for real cards and MockDevice
// emulates with host memory and the g++-compiled HLS kernels.
#ifndef FABRIC_DEVICE_DEVICE_H_
#define FABRIC_DEVICE_DEVICE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fabric {

// Identifies a buffer on one device; 0 is never a valid id.
using BufferId = uint64_t;
// Identifies a launched kernel run on one device until it is waited for.
using RunHandle = uint64_t;

// What an allocation holds, for memory accounting.
enum class MemoryKind { kWeights, kKvCache, kActivations };
inline constexpr MemoryKind kAllMemoryKinds[] = {MemoryKind::kWeights, MemoryKind::kKvCache,
                                                 MemoryKind::kActivations};
std::string_view MemoryKindName(MemoryKind kind);

// A kernel argument pointing `offset` bytes into a buffer.
struct BufferRef {
  BufferId buffer = 0;
  size_t offset = 0;
};
using KernelArg = std::variant<BufferRef, int32_t, float>;

struct MemoryBankInfo {
  std::string name;  // e.g. "HBM[0]" or "DDR[1]"
  uint64_t capacity_bytes = 0;
};

// Static facts about a card, fixed when it is opened.
struct DeviceInfo {
  std::string name;  // unique within the host, e.g. "mock0"
  std::string kind;  // "mock" or "xrt"
  std::vector<MemoryBankInfo> banks;  // the first is the default bank
  int compute_units = 1;
  std::vector<std::string> kernels;  // the kernels its bitstream (profile) offers
  // A mock card timed like a real one: the card it emulates ("u280"); empty otherwise.
  std::string emulates;
  // The card's own name as its driver reports it (an Alveo's shell, e.g.
  // "xilinx_u280_gen3x16_xdma_base_1"); empty where it does not say (mock cards, no-op shim).
  std::string product;
};

// How faithfully a mock card timed like a real one kept to its emulated times.
struct EmulationStats {
  uint64_t launches = 0;
  // Launches the CPU finished after their emulated end: there the mock fell behind the card it
  // emulates, delaying the card's clock by overrun_seconds in all.
  uint64_t overruns = 0;
  double overrun_seconds = 0;
  uint64_t transfers = 0;
  double transfer_seconds = 0;  // emulated time of host <-> card copies
};

// Counters a device keeps as it works; read from any thread.
struct DeviceStats {
  uint64_t memory_used_bytes[std::size(kAllMemoryKinds)] = {};
  uint64_t bytes_written = 0;  // host to card
  uint64_t bytes_read = 0;     // card to host
  uint64_t launches = 0;
  std::map<std::string, uint64_t> launches_by_kernel;
  double busy_seconds = 0;     // time kernels were running
  // What the card reports about itself when the stats are read; absent where it reports
  // nothing (always on mock cards), never zero.
  std::optional<double> temperature_celsius;
  std::optional<double> power_watts;
  // On a card that emulates another's timing (DeviceInfo::emulates).
  std::optional<EmulationStats> emulation;

  uint64_t memory_used(MemoryKind kind) const {
    return memory_used_bytes[static_cast<int>(kind)];
  }
};

// A card. Implementations are driven by one thread at a time (the card's DeviceWorker);
// only stats() may be called concurrently.
class Device {
 public:
  virtual ~Device() = default;

  virtual const DeviceInfo& info() const = 0;
  virtual DeviceStats stats() const = 0;

  // Allocates `bytes` in memory bank `bank` (empty: the default bank). Fails with
  // ResourceExhausted naming the card, the bank and the sizes when it does not fit.
  virtual absl::StatusOr<BufferId> Allocate(size_t bytes, std::string_view bank,
                                            MemoryKind kind) = 0;
  virtual absl::Status Free(BufferId buffer) = 0;

  // Copies host bytes into / out of card memory at a byte offset.
  virtual absl::Status Write(BufferId buffer, size_t offset, std::span<const uint8_t> data) = 0;
  virtual absl::Status Read(BufferId buffer, size_t offset, std::span<uint8_t> out) = 0;

  // Starts kernel `kernel` (a name from kernels/kernel_signatures.h that info().kernels lists)
  // over its [begin, end) work range, split across the card's compute units, and returns
  // without waiting. Arguments are checked against the kernel's signature.
  virtual absl::StatusOr<RunHandle> Launch(std::string_view kernel,
                                           std::span<const KernelArg> args) = 0;
  // Waits for a launched run; DeadlineExceeded if it has not finished within `timeout`.
  virtual absl::Status Wait(RunHandle run, absl::Duration timeout) = 0;
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_DEVICE_H_
