#include "planner/operator_cost.h"

namespace fabric::planner {

std::string_view BoundName(Bound bound) {
  switch (bound) {
    case Bound::kCompute:
      return "compute";
    case Bound::kBandwidth:
      return "bandwidth";
    case Bound::kOverhead:
      break;
  }
  return "overhead";
}

Bound Cost::bound() const {
  if (compute_seconds >= bandwidth_seconds && compute_seconds >= overhead_seconds) {
    return Bound::kCompute;
  }
  return bandwidth_seconds >= overhead_seconds ? Bound::kBandwidth : Bound::kOverhead;
}

Cost& Cost::operator+=(const Cost& other) {
  compute_seconds += other.compute_seconds;
  bandwidth_seconds += other.bandwidth_seconds;
  overhead_seconds += other.overhead_seconds;
  return *this;
}

Cost Cost::Scaled(double factor) const {
  return {compute_seconds * factor, bandwidth_seconds * factor, overhead_seconds * factor};
}

Cost OperatorCost(const OperatorWork& work, const MatrixEngine& engine,
                  const BitstreamProfile& profile, const CardSpec& card) {
  double compute = 0;
  if (work.macs > 0) {
    const double rate = engine.MacsPerCycle(work.op) * profile.clock_hz;
    compute += rate > 0 ? work.macs / rate : 0;
  }
  if (work.vector_elements > 0) {
    compute += work.vector_elements / (profile.vector_elements_per_cycle * profile.clock_hz);
  }
  const double bytes = work.weight_bytes * work.weight_passes + work.other_bytes;
  const double bandwidth = card.model_memory_bytes_per_second() * profile.memory_efficiency;
  const double memory = bytes > 0 ? bytes / bandwidth : 0;
  if (compute >= memory) return {.compute_seconds = compute};
  return {.bandwidth_seconds = memory};
}

Cost LaunchCost(const std::vector<OperatorWork>& operators, const MatrixEngine& engine,
                const BitstreamProfile& profile, const CardSpec& card) {
  Cost cost{.overhead_seconds = profile.operator_latency_cycles / profile.clock_hz +
                                profile.launch_overhead_seconds};
  for (const OperatorWork& work : operators) cost += OperatorCost(work, engine, profile, card);
  return cost;
}

}  // namespace fabric::planner
