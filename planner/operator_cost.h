// The price of one kernel launch, shared by the phase model (perf_model.h) and the per-launch
// prediction (kernel_timing.h), so a mock card that waits out each launch's prediction takes
// as long per token as the phase model says.
//
// Each operator of a launch takes max(MACs / (MACs per cycle x clock),
// bytes / (bandwidth x efficiency)); the operators of one launch run one after another; the
// launch adds its fixed cost (pipeline latency and host round trip) once.
#ifndef FABRIC_PLANNER_OPERATOR_COST_H_
#define FABRIC_PLANNER_OPERATOR_COST_H_

#include <string_view>
#include <vector>

#include "planner/bitstream_profile.h"
#include "planner/card_catalog.h"

namespace fabric::planner {

// What limits a piece of work: multipliers (or vector lanes), memory bandwidth, or the fixed
// costs of launches and communication.
enum class Bound { kCompute, kBandwidth, kOverhead };
std::string_view BoundName(Bound bound);  // "compute", "bandwidth", "overhead"

// One operator's work.
struct OperatorWork {
  std::string_view name;  // "qkv", "attention", "ffn", ... for breakdowns
  OperatorClass op = OperatorClass::kProjection;
  double macs = 0;
  double weight_bytes = 0;    // the operator's weights, read once per pass
  double weight_passes = 1;   // passes over the weights (once per tile of tokens)
  double other_bytes = 0;     // activations and KV cache read and written in card memory
  double vector_elements = 0; // elementwise work on the vector lanes
};

// Seconds split by what limited them.
struct Cost {
  double compute_seconds = 0;    // operators whose multipliers or lanes were the limit
  double bandwidth_seconds = 0;  // operators whose memory traffic was the limit
  double overhead_seconds = 0;   // launch fixed costs, communication, pipeline waits

  double seconds() const { return compute_seconds + bandwidth_seconds + overhead_seconds; }
  Bound bound() const;
  Cost& operator+=(const Cost& other);
  Cost Scaled(double factor) const;
};

// One operator on `engine`, without launch costs.
Cost OperatorCost(const OperatorWork& work, const MatrixEngine& engine,
                  const BitstreamProfile& profile, const CardSpec& card);

// One launch running `operators` in order, with its fixed cost.
Cost LaunchCost(const std::vector<OperatorWork>& operators, const MatrixEngine& engine,
                const BitstreamProfile& profile, const CardSpec& card);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_OPERATOR_COST_H_
