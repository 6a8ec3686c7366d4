// A model's weights resident in one card's memory.
#ifndef FABRIC_MODEL_CARD_WEIGHTS_H_
#define FABRIC_MODEL_CARD_WEIGHTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "device/device_worker.h"
#include "model/model_file.h"
#include "model/tensor.h"

namespace fabric {

// A weight tensor in card memory: `rows` rows of `row_len` values of `type`.
struct CardTensor {
  BufferId buffer = 0;
  TensorType type = TensorType::kF32;
  int rows = 0;
  int row_len = 0;
};

struct CardLayer {
  CardTensor attn_norm, wq, wk, wv, wo;
  CardTensor ffn_norm, w_gate, w_up, w_down;
};

struct CardWeights {
  CardTensor embedding;
  CardTensor output_norm;
  CardTensor output;  // the embedding's buffer when the classifier is tied to it
  std::vector<CardLayer> layers;
};

// Uploads every weight of `model` to the worker's card once. F32 and Q8_0 tensors are copied
// as stored; F16 tensors are widened to F32, since the kernels take F32 or Q8_0 weights.
absl::StatusOr<CardWeights> UploadWeights(const ModelFile& model, DeviceWorker& worker);

}  // namespace fabric

#endif  // FABRIC_MODEL_CARD_WEIGHTS_H_
