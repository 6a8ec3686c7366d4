#include "model/card_weights.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fabric {
namespace {

// Which part of a tensor a card holds; an empty range means all of that dimension.
struct Slice {
  Range rows;
  Range cols;
};

// The tensor's name for a layer, or the whole-model tensor itself.
std::string Name(int layer, std::string_view suffix) {
  return layer < 0 ? std::string(suffix) : tensor_names::Layer(layer, suffix);
}

TensorType CardType(TensorType type) {
  return type == TensorType::kQ8_0 ? TensorType::kQ8_0 : TensorType::kF32;
}

Range Resolve(Range range, int64_t full) {
  return range.size() == 0 ? Range{0, static_cast<int>(full)} : range;
}

// The slice's bytes as the card stores them: rows, each cut to the columns.
absl::StatusOr<std::vector<uint8_t>> SliceBytes(const Tensor& tensor, Range rows, Range cols) {
  const TensorType type = CardType(tensor.type);
  const int64_t block = TensorBlockSize(type);
  if (cols.begin % block != 0 || (cols.end % block != 0 && cols.end != tensor.row_len())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", tensor.name, " is ", std::string(TensorTypeName(tensor.type)), ": its columns [",
        cols.begin, ", ", cols.end, ") cannot be cut inside a ", block, "-value block"));
  }
  const size_t out_row = TensorBytes(type, cols.size());
  std::vector<uint8_t> out(out_row * rows.size());
  if (tensor.type == TensorType::kF16) {  // widen whole rows, then cut
    std::vector<float> row(tensor.row_len());
    for (int r = rows.begin; r < rows.end; ++r) {
      RETURN_IF_ERROR(DequantizeRows(tensor, r, 1, row));
      std::memcpy(out.data() + (r - rows.begin) * out_row, row.data() + cols.begin, out_row);
    }
    return out;
  }
  const size_t in_row = TensorBytes(type, tensor.row_len());
  const size_t col_offset = TensorBytes(type, cols.begin);
  for (int r = rows.begin; r < rows.end; ++r) {
    std::memcpy(out.data() + (r - rows.begin) * out_row,
                tensor.data.data() + r * in_row + col_offset, out_row);
  }
  return out;
}

absl::StatusOr<CardTensor> Upload(const ModelFile& model, const std::string& name, Slice slice,
                                  DeviceWorker& worker) {
  const Tensor* tensor = model.FindTensor(name);
  if (tensor == nullptr) {
    return absl::NotFoundError(absl::StrCat(model.path(), ": missing tensor ", name));
  }
  const Range rows = Resolve(slice.rows, tensor->rows());
  const Range cols = Resolve(slice.cols, tensor->row_len());
  CardTensor card{0, CardType(tensor->type), rows.size(), cols.size()};
  const size_t bytes = TensorBytes(card.type, int64_t{card.rows} * card.row_len);
  ASSIGN_OR_RETURN(card.buffer, worker.Allocate(bytes, "", MemoryKind::kWeights));
  const bool whole_rows = cols.size() == tensor->row_len() && tensor->type != TensorType::kF16;
  if (whole_rows) {
    // Straight from the file's mapping, which outlives the Sync below.
    const size_t row_bytes = TensorBytes(card.type, tensor->row_len());
    worker.Write(card.buffer, 0, tensor->data.subspan(rows.begin * row_bytes, bytes));
  } else {
    ASSIGN_OR_RETURN(std::vector<uint8_t> sliced, SliceBytes(*tensor, rows, cols));
    worker.Write(card.buffer, 0, std::move(sliced));
  }
  RETURN_IF_ERROR(worker.Sync());
  return card;
}

// Every tensor of the shard with its slice; `visit(name, slice, destination)`.
template <typename Visit>
void ForEachTensor(const ModelFile& model, const CardShard& shard, CardWeights* weights,
                   Visit visit) {
  namespace names = tensor_names;
  const ModelConfig& c = model.config();
  const int hd = c.head_dim();
  const Range q{shard.q_heads.begin * hd, shard.q_heads.end * hd};
  const Range kv{shard.kv_heads.begin * hd, shard.kv_heads.end * hd};
  const bool tied = model.FindTensor(names::kOutput) == nullptr;
  if (shard.embedding) visit(Name(-1, names::kTokenEmbedding), Slice{}, &weights->embedding);
  for (int l = shard.layers.begin; l < shard.layers.end; ++l) {
    CardLayer& layer = weights->layers[l - shard.layers.begin];
    visit(Name(l, names::kAttnNorm), Slice{}, &layer.attn_norm);
    visit(Name(l, names::kAttnQ), Slice{q, {}}, &layer.wq);
    visit(Name(l, names::kAttnK), Slice{kv, {}}, &layer.wk);
    visit(Name(l, names::kAttnV), Slice{kv, {}}, &layer.wv);
    visit(Name(l, names::kAttnOutput), Slice{{}, q}, &layer.wo);
    visit(Name(l, names::kFfnNorm), Slice{}, &layer.ffn_norm);
    visit(Name(l, names::kFfnGate), Slice{shard.hidden, {}}, &layer.w_gate);
    visit(Name(l, names::kFfnUp), Slice{shard.hidden, {}}, &layer.w_up);
    visit(Name(l, names::kFfnDown), Slice{{}, shard.hidden}, &layer.w_down);
  }
  if (shard.classifier) {
    visit(Name(-1, names::kOutputNorm), Slice{}, &weights->output_norm);
    // A card holding the whole tied table already has it as its embedding.
    const bool reuse = tied && shard.embedding && shard.vocab.size() == c.vocab_size;
    if (!reuse) {
      visit(Name(-1, tied ? names::kTokenEmbedding : names::kOutput), Slice{shard.vocab, {}},
            &weights->classifier);
    }
  }
}

}  // namespace

absl::StatusOr<CardWeights> UploadWeights(const ModelFile& model, const CardShard& shard,
                                          DeviceWorker& worker) {
  CardWeights weights;
  weights.layers.resize(shard.layers.size());
  absl::Status status;
  ForEachTensor(model, shard, &weights,
                [&](const std::string& name, Slice slice, CardTensor* destination) {
                  if (!status.ok()) return;
                  absl::StatusOr<CardTensor> card = Upload(model, name, slice, worker);
                  if (card.ok()) {
                    *destination = *card;
                  } else {
                    status = card.status();
                  }
                });
  RETURN_IF_ERROR(status);
  if (shard.classifier && weights.classifier.buffer == 0) weights.classifier = weights.embedding;
  return weights;
}

uint64_t ShardWeightBytes(const ModelFile& model, const CardShard& shard) {
  CardWeights unused;
  unused.layers.resize(shard.layers.size());
  uint64_t bytes = 0;
  ForEachTensor(model, shard, &unused, [&](const std::string& name, Slice slice, CardTensor*) {
    const Tensor* tensor = model.FindTensor(name);
    if (tensor == nullptr) return;
    const int64_t rows = Resolve(slice.rows, tensor->rows()).size();
    const int64_t cols = Resolve(slice.cols, tensor->row_len()).size();
    bytes += TensorBytes(CardType(tensor->type), rows * cols);
  });
  return bytes;
}

int ColumnAlignment(const ModelFile& model) {
  for (int l = 0; l < model.config().n_layers; ++l) {
    for (std::string_view suffix : {tensor_names::kAttnOutput, tensor_names::kFfnDown}) {
      const Tensor* tensor = model.FindTensor(tensor_names::Layer(l, suffix));
      if (tensor != nullptr && tensor->type == TensorType::kQ8_0) return static_cast<int>(TensorBlockSize(TensorType::kQ8_0));
    }
  }
  return 1;
}

}  // namespace fabric
