// A model's weights resident in one card's memory: the card's shard of them.
#ifndef FABRIC_MODEL_CARD_WEIGHTS_H_
#define FABRIC_MODEL_CARD_WEIGHTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "device/device_worker.h"
#include "model/model_file.h"
#include "model/shard_plan.h"
#include "model/tensor.h"

namespace fabric {

// A weight tensor in card memory: `rows` rows of `row_len` values of `type`.
struct CardTensor {
  BufferId buffer = 0;
  TensorType type = TensorType::kF32;
  int rows = 0;
  int row_len = 0;
};

// One layer's slice: wq, wk, wv rows of the card's heads; wo columns of its query heads;
// w_gate, w_up rows and w_down columns of its FFN columns; the norms whole.
struct CardLayer {
  CardTensor attn_norm, wq, wk, wv, wo;
  CardTensor ffn_norm, w_gate, w_up, w_down;
};

struct CardWeights {
  CardTensor embedding;    // whole table, on first-stage cards
  CardTensor output_norm;  // on last-stage cards
  CardTensor classifier;   // the card's vocabulary rows, on last-stage cards
  std::vector<CardLayer> layers;  // the stage's layers, in order
};

// Uploads `shard`'s weights to the worker's card, once. F32 and Q8_0 stay as stored; F16 is
// widened to F32, since the kernels take F32 or Q8_0 weights. Q8_0 columns are cut on block
// boundaries; a cut inside a block is an error naming the tensor.
absl::StatusOr<CardWeights> UploadWeights(const ModelFile& model, const CardShard& shard,
                                          DeviceWorker& worker);

// Bytes `shard`'s weights take on a card, as UploadWeights stores them.
uint64_t ShardWeightBytes(const ModelFile& model, const CardShard& shard);

// The column alignment PlanShards needs for `model`: 32 when a matrix that is cut along its
// columns (attention output, FFN down) is Q8_0, else 1.
int ColumnAlignment(const ModelFile& model);

}  // namespace fabric

#endif  // FABRIC_MODEL_CARD_WEIGHTS_H_
