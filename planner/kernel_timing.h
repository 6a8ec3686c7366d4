// How long one kernel launch takes on a card: the prediction a mock card waits out to behave
// in time like the card it emulates. Priced like the phase model's launches
// (operator_cost.h), so the sum over a step's launches is the model's step time.
#ifndef FABRIC_PLANNER_KERNEL_TIMING_H_
#define FABRIC_PLANNER_KERNEL_TIMING_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/kernel_profiles.h"
#include "planner/card_catalog.h"
#include "planner/operator_cost.h"

namespace fabric::planner {

// One launch as a device sees it.
struct KernelLaunch {
  std::string_view kernel;  // a name of kernels/kernel_signatures.h
  // The launch's int arguments by their ArgSpec names (begin and end included); float and
  // buffer arguments play no part.
  std::vector<std::pair<std::string_view, int64_t>> ints;
  // Attention kernels only: key positions attended, summed over the launch's work items
  // ([begin, end): (token, head) pairs for `attention`, tokens for `decode_attention_*`), as
  // the positions buffer says. Each item attends its position + 1 keys.
  int64_t attended_keys = 0;
};

// The predicted time of `launch` on `card` running Fabric's bitstream of `kind`, split by
// what limits it. Integer kernels (*_q8_0) run on INT8 multipliers, float ones on FP32.
// NotFound for a kernel not in the signature table, FailedPrecondition for one the profile
// does not offer, InvalidArgument for a missing argument or attended_keys on an attention
// launch.
absl::StatusOr<Cost> PredictLaunch(const KernelLaunch& launch, const CardSpec& card,
                                   KernelProfile kind);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_KERNEL_TIMING_H_
