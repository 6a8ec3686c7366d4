#include "planner/bitstream_profile.h"

#include <algorithm>
#include <utility>

#include "kernels/kernel_signatures.h"

namespace fabric::planner {
namespace {

// Shares of the card's peak multiply-accumulates each kernel's compute units get, and the
// memory-port efficiency, per bitstream kind (planner/README.md, "Derived profiles"). The
// shares leave a quarter of the DSPs to what routing and timing closure cost. Prefill puts
// its DSPs into wide GEMM tiles; decode into GEMV and fused-layer engines whose many memory
// ports keep the card's bandwidth busy; unified halves each to fit both sets.
struct Shares {
  double gemm, gemv, fused_attention, fused_ffn, attention, memory_efficiency;
};
constexpr Shares kPrefillShares = {0.70, 0, 0, 0, 0.10, 0.70};
constexpr Shares kDecodeShares = {0, 0.20, 0.25, 0.25, 0.05, 0.85};
constexpr Shares kUnifiedShares = {0.35, 0.10, 0.10, 0.10, 0.05, 0.75};

// One 512-bit memory beat of f32 values per cycle for the elementwise kernels.
constexpr double kVectorElementsPerCycle = 16;
// Pipeline fill and drain plus the first memory round trip of a launch (assumption).
constexpr double kOperatorLatencyCycles = 1000;
// XRT's start-and-wait of one kernel run, seen from the host (assumption).
constexpr double kLaunchOverheadSeconds = 10e-6;
// A prefill tile of input activations may take this much of the on-chip memory.
constexpr double kTileBufferShare = 0.25;

const Shares& SharesFor(KernelProfile kind) {
  switch (kind) {
    case KernelProfile::kPrefill:
      return kPrefillShares;
    case KernelProfile::kDecode:
      return kDecodeShares;
    case KernelProfile::kUnified:
      break;
  }
  return kUnifiedShares;
}

MatrixEngine Engine(double macs, double attention_macs) {
  return MatrixEngine{.present = macs > 0,
                      .projection_macs_per_cycle = macs,
                      .attention_macs_per_cycle = attention_macs,
                      .ffn_macs_per_cycle = macs,
                      .head_macs_per_cycle = macs};
}

}  // namespace

double MatrixEngine::MacsPerCycle(OperatorClass op) const {
  switch (op) {
    case OperatorClass::kProjection:
      return projection_macs_per_cycle;
    case OperatorClass::kAttention:
      return attention_macs_per_cycle;
    case OperatorClass::kFfn:
      return ffn_macs_per_cycle;
    case OperatorClass::kHead:
      break;
  }
  return head_macs_per_cycle;
}

int MatrixEngine::TileTokens(double row_bytes) const {
  if (tile_tokens > 0) return tile_tokens;
  return std::max(1, static_cast<int>(tile_buffer_bytes / std::max(row_bytes, 1.0)));
}

double MacsPerDsp(DspFamily family, int compute_bits) {
  if (family == DspFamily::kDsp58) {
    // DSP58: a three-term INT8 dot product per cycle (also used for narrower integers), one
    // 16-bit product, and one FP32 multiply-add in its hard floating-point mode.
    if (compute_bits <= 8) return 3;
    return 1;
  }
  // DSP48E2: two INT8 products sharing an operand in the 27x18 multiplier (AMD WP486), four
  // packed INT4 products (WP521), one 16-bit product; a single-precision multiply-add built
  // with the floating-point operator IP takes about three slices.
  if (compute_bits <= 4) return 4;
  if (compute_bits <= 8) return 2;
  if (compute_bits <= 16) return 1;
  return 1.0 / 3;
}

double AiEngineMacsPerCycle(int compute_bits) {
  // First-generation AI Engine vector unit (AM009): 128 INT8, 32 INT16 or 8 FP32 MACs a cycle.
  if (compute_bits <= 8) return 128;
  if (compute_bits <= 16) return 32;
  return 8;
}

double PeakMacsPerCycle(const CardSpec& card, int compute_bits) {
  double macs = card.dsp_slices * MacsPerDsp(card.dsp_family, compute_bits);
  if (card.ai_engines > 0 && card.kernel_clock_hz > 0) {
    macs += card.ai_engines * AiEngineMacsPerCycle(compute_bits) * card.ai_engine_clock_hz /
            card.kernel_clock_hz;
  }
  return macs;
}

BitstreamProfile DeriveProfile(const CardSpec& card, KernelProfile kind,
                               const ModelShape& shape) {
  const Shares& s = SharesFor(kind);
  const double peak = PeakMacsPerCycle(card, shape.compute_bits);
  BitstreamProfile profile{.name = std::string(ProfileName(kind)),
                           .clock_hz = card.kernel_clock_hz,
                           .memory_efficiency = s.memory_efficiency,
                           .vector_elements_per_cycle = kVectorElementsPerCycle,
                           .operator_latency_cycles = kOperatorLatencyCycles,
                           .launch_overhead_seconds = kLaunchOverheadSeconds};
  const double attention = s.attention * peak;
  profile.gemm = Engine(s.gemm * peak, attention);
  profile.gemm.tile_buffer_bytes = kTileBufferShare * card.onchip_bytes;
  profile.gemv = Engine(s.gemv * peak, attention);
  profile.gemv.tile_tokens = kMaxDecodeTokens;
  if (s.fused_attention > 0) {
    profile.fused = Engine(s.fused_attention * peak, s.fused_attention * peak);
    profile.fused.ffn_macs_per_cycle = s.fused_ffn * peak;
    profile.fused.tile_tokens = kFusedDecodeTokens;
    profile.fused.fused = true;
  }
  return profile;
}

BitstreamProfile OverlayProfile(std::string name, double clock_hz, double macs_per_cycle,
                                double memory_efficiency, double vector_elements_per_cycle,
                                double operator_latency_cycles) {
  BitstreamProfile profile{.name = std::move(name),
                           .clock_hz = clock_hz,
                           .memory_efficiency = memory_efficiency,
                           .vector_elements_per_cycle = vector_elements_per_cycle,
                           .operator_latency_cycles = operator_latency_cycles};
  profile.gemm = Engine(macs_per_cycle, macs_per_cycle);
  profile.gemm.tile_tokens = 1 << 20;  // weights stream once per launch
  profile.gemm.attention_on_chip = true;
  profile.gemv = profile.gemm;
  return profile;
}

}  // namespace fabric::planner
