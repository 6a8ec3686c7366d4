#include "device/mock/card_timing.h"

#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "planner/cluster_model.h"

namespace fabric {
namespace {

// How many work items of an attention launch belong to one token: `attention` runs one item
// per (token, head), item i = t * n_heads + h; `decode_attention_*` one item per token.
// 0 for kernels that attend nothing.
int ItemsPerToken(const KernelSpec& spec, const planner::KernelLaunch& launch) {
  if (spec.name.starts_with("decode_attention")) return 1;
  if (spec.name != "attention") return 0;
  for (const auto& [name, value] : launch.ints) {
    if (name == "n_heads") return static_cast<int>(value);
  }
  return 0;
}

}  // namespace

absl::StatusOr<CardTiming> PlannerTiming(const planner::CardSpec& card, KernelProfile profile) {
  ASSIGN_OR_RETURN(const planner::Link link,
                   planner::DefaultLink(planner::LinkKind::kPcie, {card}));
  CardTiming timing;
  timing.card = card.name;
  timing.launch_seconds = [card, profile](const planner::KernelLaunch& launch)
      -> absl::StatusOr<double> {
    ASSIGN_OR_RETURN(const planner::Cost cost, planner::PredictLaunch(launch, card, profile));
    return cost.seconds();
  };
  // One transfer through host memory, as the planner prices the logits read, a pipeline
  // hand-off's halves and an all-reduce's partials.
  timing.transfer_seconds = [link](uint64_t bytes) {
    return link.latency_seconds + static_cast<double>(bytes) / link.bytes_per_second;
  };
  return timing;
}

absl::StatusOr<planner::KernelLaunch> DescribeLaunch(const KernelSpec& spec,
                                                     std::span<const ResolvedArg> args,
                                                     std::span<const size_t> buffer_bytes) {
  planner::KernelLaunch launch;
  launch.kernel = spec.name;
  const int32_t* positions = nullptr;
  size_t positions_bytes = 0;
  for (size_t i = 0; i < spec.args.size(); ++i) {
    const ArgSpec& arg = spec.args[i];
    if (arg.kind == ArgKind::kInt) launch.ints.emplace_back(arg.name, std::get<int32_t>(args[i]));
    if (arg.name == "positions") {
      positions = static_cast<const int32_t*>(std::get<void*>(args[i]));
      positions_bytes = buffer_bytes[i];
    }
  }
  const int per_token = ItemsPerToken(spec, launch);
  if (per_token <= 0 || positions == nullptr) return launch;
  // The range is the last two arguments, as for every kernel.
  const int begin = std::get<int32_t>(args[args.size() - 2]);
  const int end = std::get<int32_t>(args[args.size() - 1]);
  if (end <= begin) return launch;
  const size_t tokens = static_cast<size_t>((end - 1) / per_token) + 1;
  if (tokens * sizeof(int32_t) > positions_bytes) {
    return absl::OutOfRangeError(absl::StrCat(
        std::string(spec.name), ": items [", begin, ", ", end, ") need ", tokens,
        " positions, the buffer holds ", positions_bytes / sizeof(int32_t)));
  }
  for (int item = begin; item < end; ++item) {
    launch.attended_keys += positions[item / per_token] + 1;
  }
  return launch;
}

}  // namespace fabric
