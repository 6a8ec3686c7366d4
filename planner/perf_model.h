// The analytical model of one card (after Chen et al., "Understanding the Potential of
// FPGA-Based Spatial Acceleration for Large Language Model Inference", TRETS 2024): the
// kernel launches a step of a model takes on a card, each priced by operator_cost.h.
// Communication between cards and pipeline effects are cluster_model.h's.
//
// Per layer and sequence of l tokens (d the width, f the FFN width, all divided by tensor
// parallelism): Q, K, V 3ld^2 (less with grouped key/value heads), scores and context l^2 d
// each, output projection ld^2, FFN 2ldf or 3ldf (SwiGLU). A decode step is the same with one
// new token against the l cached ones.
#ifndef FABRIC_PLANNER_PERF_MODEL_H_
#define FABRIC_PLANNER_PERF_MODEL_H_

#include <string_view>
#include <utility>
#include <vector>

#include "planner/bitstream_profile.h"
#include "planner/card_catalog.h"
#include "planner/model_shape.h"
#include "planner/operator_cost.h"

namespace fabric::planner {

// What one card of a model instance holds and computes.
struct CardSlice {
  int layers = 0;           // the layers of its pipeline stage
  int tensor_parallel = 1;  // cards sharing every layer's heads and FFN columns
  bool embedding = false;   // first stage: gathers token embeddings
  bool classifier = false;  // last stage: final norm and its share of the classifier
};

enum class Phase { kPrefill, kDecode };

// One step on one card: `sequences` sequences each adding `new_tokens` to `context` cached.
struct StepShape {
  Phase phase = Phase::kDecode;
  int sequences = 1;
  int new_tokens = 1;
  int context = 0;
};

// The predicted time of a step on one card, split by operator.
struct PhaseCost {
  Cost total;
  int launches = 0;
  std::vector<std::pair<std::string_view, Cost>> operators;  // summed over layers
};

PhaseCost StepCost(const ModelShape& shape, const CardSlice& slice, const CardSpec& card,
                   const BitstreamProfile& profile, const StepShape& step);

// A prompt of `prompt_tokens` for each of `sequences` sequences.
PhaseCost PrefillCost(const ModelShape& shape, const CardSlice& slice, const CardSpec& card,
                      const BitstreamProfile& profile, int sequences, int prompt_tokens);
// One new token for each of `sequences` sequences with `context` tokens cached.
PhaseCost DecodeCost(const ModelShape& shape, const CardSlice& slice, const CardSpec& card,
                     const BitstreamProfile& profile, int sequences, int context);

// The launches of one layer of `step` on `engine`, each a list of operators, in the order
// Fabric's programs issue them: the fused layer's two halves (and, tensor-parallel, a
// residual add after each all-reduce), or one launch per operator.
std::vector<std::vector<OperatorWork>> LayerLaunches(const ModelShape& shape,
                                                     const CardSlice& slice,
                                                     const MatrixEngine& engine,
                                                     const StepShape& step);

// The engine a step of `tokens` runs on, as Fabric's programs choose: prefill on matmul_*
// (else matvec_*); decode on the fused layer when the card's slice fits it and the step has
// at most kFusedDecodeTokens tokens, else matvec_* (else matmul_*). Null if the profile has
// no engine at all.
const MatrixEngine* EngineFor(const ModelShape& shape, const CardSlice& slice,
                              const BitstreamProfile& profile, Phase phase, int tokens);

// Per-card widths of a tensor-parallel slice: query heads split, key/value heads split or
// replicated (at least one), FFN columns and classifier rows split (rounded up).
struct SliceWidths {
  int q_dim = 0;
  int kv_dim = 0;
  int ffn = 0;
  int vocab = 0;
};
SliceWidths WidthsOf(const ModelShape& shape, int tensor_parallel);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_PERF_MODEL_H_
