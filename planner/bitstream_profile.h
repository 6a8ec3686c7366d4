// A bitstream as the performance model sees it: the multiply-accumulates per cycle each kind
// of kernel devotes to each operator class, the clock, how well its memory ports use the
// card's bandwidth, and the fixed costs of a launch. DeriveProfile gives the defaults for
// Fabric's own bitstreams (kernels/kernel_profiles.h) on a card; the derivation is in
// planner/README.md.
#ifndef FABRIC_PLANNER_BITSTREAM_PROFILE_H_
#define FABRIC_PLANNER_BITSTREAM_PROFILE_H_

#include <string>

#include "kernels/kernel_profiles.h"
#include "planner/card_catalog.h"
#include "planner/model_shape.h"

namespace fabric::planner {

enum class OperatorClass {
  kProjection,  // Q, K, V and the attention output projection
  kAttention,   // scores (Q K^T) and context (scores V)
  kFfn,         // the feed-forward matrices
  kHead,        // the classifier
};

// The compute units that run one kind of matrix product. Absent from a bitstream when
// `present` is false.
struct MatrixEngine {
  bool present = false;
  double projection_macs_per_cycle = 0;
  double attention_macs_per_cycle = 0;
  double ffn_macs_per_cycle = 0;
  double head_macs_per_cycle = 0;
  // Tokens whose activations a kernel holds on chip while the weights stream past: the
  // weights stream once per tile. 0 means as many as `tile_buffer_bytes` hold.
  int tile_tokens = 0;
  double tile_buffer_bytes = 0;
  // One launch per half layer with every intermediate on chip (decode_attention_*,
  // decode_ffn_*), instead of one launch per operator with activations in card memory.
  bool fused = false;
  // Attention keeps a sequence's keys and values on chip for all its queries, streaming them
  // once per launch. Otherwise (Fabric's attention kernels) every query head of every token
  // streams its key/value head's rows from card memory.
  bool attention_on_chip = false;

  double MacsPerCycle(OperatorClass op) const;
  // Tokens per pass over the weights for inputs `row_bytes` wide.
  int TileTokens(double row_bytes) const;
};

struct BitstreamProfile {
  std::string name;
  double clock_hz = 0;
  double memory_efficiency = 0;          // fraction of the peak memory bandwidth sustained
  double vector_elements_per_cycle = 0;  // norms, rotations, activations, residual adds
  double operator_latency_cycles = 0;    // pipeline fill and drain of every launch
  double launch_overhead_seconds = 0;    // host round trip of every launch (start and wait)
  MatrixEngine gemm = {};   // matmul_*: prompts, many tokens
  MatrixEngine gemv = {};   // matvec_* with the attention kernel: decode steps
  MatrixEngine fused = {};  // the fused decode layer
};

// Multiply-accumulates one DSP slice does per cycle on operands of `compute_bits`.
double MacsPerDsp(DspFamily family, int compute_bits);
// Multiply-accumulates one (first-generation) AI Engine tile does per cycle.
double AiEngineMacsPerCycle(int compute_bits);
// The card's peak multiply-accumulates per kernel-clock cycle: DSPs plus AI Engines at
// their own clock.
double PeakMacsPerCycle(const CardSpec& card, int compute_bits);

// The profile Fabric's bitstream of `kind` would have on `card` for `shape`'s precision.
BitstreamProfile DeriveProfile(const CardSpec& card, KernelProfile kind,
                               const ModelShape& shape);

// A temporal overlay such as the published designs the model is pinned against (DFX,
// FlightLLM): one matrix engine of `macs_per_cycle` runs every operator of both phases, with
// activations in card memory and no host launch cost.
BitstreamProfile OverlayProfile(std::string name, double clock_hz, double macs_per_cycle,
                                double memory_efficiency, double vector_elements_per_cycle,
                                double operator_latency_cycles);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_BITSTREAM_PROFILE_H_
