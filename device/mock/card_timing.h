// Timing emulation for mock cards: how long a kernel launch and a host transfer take on the
// card a mock card stands in for, so the mock behaves in time like it (planner/README.md,
// "Timing emulation on mock cards"). The mock still computes every result on the CPU.
#ifndef FABRIC_DEVICE_MOCK_CARD_TIMING_H_
#define FABRIC_DEVICE_MOCK_CARD_TIMING_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "device/mock/kernel_registry.h"
#include "kernels/kernel_profiles.h"
#include "kernels/kernel_signatures.h"
#include "planner/card_catalog.h"
#include "planner/kernel_timing.h"

namespace fabric {

// What a mock card waits out. Plain data; the functions must be thread-safe.
struct CardTiming {
  std::string card;  // the emulated card, as metrics and messages name it ("u280")
  // Seconds one launch takes on the card, from its kernel name and arguments.
  std::function<absl::StatusOr<double>(const planner::KernelLaunch&)> launch_seconds;
  // Seconds one host <-> card copy of `bytes` takes.
  std::function<double(uint64_t bytes)> transfer_seconds;
};

// The planner's timing of Fabric's bitstream `profile` on `card`: each launch as
// planner::PredictLaunch prices it, each transfer as one PCIe transfer of the planner's link
// model (latency + bytes / bandwidth). InvalidArgument if the card has no PCIe link.
absl::StatusOr<CardTiming> PlannerTiming(const planner::CardSpec& card, KernelProfile profile);

// A launch of `spec` with `args` (checked against the spec, buffers resolved) as the planner
// sees it: its int arguments by name and, for `attention` and `decode_attention_*`, the keys
// its work items attend, read from the positions buffer (each item attends its token's
// position + 1 keys). `buffer_bytes[i]` is how many bytes buffer argument i may be read from
// its address; OutOfRange if the positions buffer is shorter than the launch's tokens.
absl::StatusOr<planner::KernelLaunch> DescribeLaunch(const KernelSpec& spec,
                                                     std::span<const ResolvedArg> args,
                                                     std::span<const size_t> buffer_bytes);

}  // namespace fabric

#endif  // FABRIC_DEVICE_MOCK_CARD_TIMING_H_
