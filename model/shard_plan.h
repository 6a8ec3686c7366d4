// How a model is split across cards: pipeline stages of contiguous layers, each stage a
// tensor-parallel group whose cards hold a slice of every layer's heads and FFN columns.
#ifndef FABRIC_MODEL_SHARD_PLAN_H_
#define FABRIC_MODEL_SHARD_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_config.h"

namespace fabric {

// A half-open range [begin, end).
struct Range {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
  bool operator==(const Range&) const = default;
};

// What one card holds and computes.
struct CardShard {
  int stage = 0;        // pipeline stage
  int rank = 0;         // position in the stage's tensor-parallel group
  Range layers;         // the stage's layers
  Range q_heads;        // query heads of every layer
  Range kv_heads;       // key/value heads those query heads read (shared when TP > kv heads)
  Range hidden;         // FFN hidden columns
  Range vocab;          // classifier rows, on the last stage
  bool embedding = false;   // first stage: gathers token embeddings
  bool classifier = false;  // last stage: final norm and its slice of the classifier
};

struct ShardPlan {
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  std::vector<CardShard> cards;  // card i = stage i / TP, rank i % TP

  const CardShard& card(int stage, int rank) const {
    return cards[stage * tensor_parallel + rank];
  }
  std::vector<Range> stage_layers() const;
};

// Plans TP x PP for `config`. Layers are split into contiguous stages that balance the
// weights each stage streams per token (the last stage also runs the classifier); heads split
// evenly; FFN columns and classifier rows as evenly as `column_alignment` allows (32 when a
// quantized tensor must be cut on block boundaries). Errors say what is wrong and what
// would work.
absl::StatusOr<ShardPlan> PlanShards(const ModelConfig& config, int tensor_parallel,
                                     int pipeline_parallel, int column_alignment = 1);

// Splits [0, n) into `parts` contiguous ranges whose sizes differ by at most `alignment`,
// each boundary a multiple of `alignment` (the last range takes the remainder).
std::vector<Range> SplitEvenly(int n, int parts, int alignment = 1);

}  // namespace fabric

#endif  // FABRIC_MODEL_SHARD_PLAN_H_
