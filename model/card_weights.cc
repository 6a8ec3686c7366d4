#include "model/card_weights.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fabric {
namespace {

absl::StatusOr<CardTensor> Upload(const ModelFile& model, std::string_view name,
                                  DeviceWorker& worker) {
  const Tensor* tensor = model.FindTensor(name);
  if (tensor == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(model.path(), ": missing tensor ", std::string(name)));
  }
  CardTensor card;
  card.rows = static_cast<int>(tensor->rows());
  card.row_len = static_cast<int>(tensor->row_len());
  card.type = tensor->type == TensorType::kQ8_0 ? TensorType::kQ8_0 : TensorType::kF32;
  const size_t bytes = TensorBytes(card.type, tensor->elements());
  ASSIGN_OR_RETURN(card.buffer, worker.Allocate(bytes, "", MemoryKind::kWeights));
  if (tensor->type == TensorType::kF16) {
    std::vector<uint8_t> widened(bytes);
    RETURN_IF_ERROR(DequantizeRows(
        *tensor, 0, tensor->rows(),
        {reinterpret_cast<float*>(widened.data()), widened.size() / sizeof(float)}));
    worker.Write(card.buffer, 0, std::move(widened));
  } else {
    worker.Write(card.buffer, 0, tensor->data);  // the mapping outlives the Sync below
  }
  RETURN_IF_ERROR(worker.Sync());
  return card;
}

}  // namespace

absl::StatusOr<CardWeights> UploadWeights(const ModelFile& model, DeviceWorker& worker) {
  namespace names = tensor_names;
  CardWeights weights;
  ASSIGN_OR_RETURN(weights.embedding, Upload(model, names::kTokenEmbedding, worker));
  ASSIGN_OR_RETURN(weights.output_norm, Upload(model, names::kOutputNorm, worker));
  if (model.FindTensor(names::kOutput) != nullptr) {
    ASSIGN_OR_RETURN(weights.output, Upload(model, names::kOutput, worker));
  } else {
    weights.output = weights.embedding;
  }
  for (int l = 0; l < model.config().n_layers; ++l) {
    CardLayer& layer = weights.layers.emplace_back();
    const std::pair<CardTensor*, std::string_view> tensors[] = {
        {&layer.attn_norm, names::kAttnNorm}, {&layer.wq, names::kAttnQ},
        {&layer.wk, names::kAttnK},           {&layer.wv, names::kAttnV},
        {&layer.wo, names::kAttnOutput},      {&layer.ffn_norm, names::kFfnNorm},
        {&layer.w_gate, names::kFfnGate},     {&layer.w_up, names::kFfnUp},
        {&layer.w_down, names::kFfnDown},
    };
    for (const auto& [card, suffix] : tensors) {
      ASSIGN_OR_RETURN(*card, Upload(model, names::Layer(l, suffix), worker));
    }
  }
  return weights;
}

}  // namespace fabric
