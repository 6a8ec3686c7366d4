#include "model/tensor.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kernels/formats.h"

namespace fabric {

std::string_view TensorTypeName(TensorType type) {
  switch (type) {
    case TensorType::kF32:
      return "F32";
    case TensorType::kF16:
      return "F16";
    case TensorType::kQ8_0:
      return "Q8_0";
  }
  return "unknown";
}

int64_t TensorBlockSize(TensorType type) { return type == TensorType::kQ8_0 ? kQ8BlockSize : 1; }

size_t TensorBytes(TensorType type, int64_t elements) {
  const size_t n = static_cast<size_t>(elements);
  switch (type) {
    case TensorType::kF32:
      return n * sizeof(float);
    case TensorType::kF16:
      return n * sizeof(uint16_t);
    case TensorType::kQ8_0:
      return n / kQ8BlockSize * sizeof(BlockQ8_0);
  }
  return 0;
}

// A tensor without dimensions holds no data here (GGUF tensors have at least one dimension).
int64_t Tensor::elements() const {
  if (shape.empty()) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::Status DequantizeRows(const Tensor& tensor, int64_t first_row, int64_t rows,
                            std::span<float> out) {
  const int64_t row_len = tensor.row_len();
  if (first_row < 0 || rows < 0 || first_row + rows > tensor.rows() ||
      static_cast<int64_t>(out.size()) != rows * row_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("DequantizeRows: rows [", first_row, ", ", first_row + rows, ") of tensor '",
                     tensor.name, "' (", tensor.rows(), " rows) into ", out.size(), " floats"));
  }
  const size_t row_bytes = TensorBytes(tensor.type, row_len);
  const uint8_t* src = tensor.data.data() + first_row * row_bytes;
  const size_t n = out.size();
  switch (tensor.type) {
    case TensorType::kF32:
      std::memcpy(out.data(), src, n * sizeof(float));
      break;
    case TensorType::kF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, sizeof h);
        out[i] = Fp16ToFp32(h);
      }
      break;
    case TensorType::kQ8_0:
      for (size_t b = 0; b < n / kQ8BlockSize; ++b) {
        BlockQ8_0 block;
        std::memcpy(&block, src + b * sizeof(BlockQ8_0), sizeof block);
        const float d = Fp16ToFp32(block.d);
        for (int i = 0; i < kQ8BlockSize; ++i) out[b * kQ8BlockSize + i] = d * block.qs[i];
      }
      break;
  }
  return absl::OkStatus();
}

namespace tensor_names {
std::string Layer(int layer, std::string_view suffix) {
  return absl::StrCat("blk.", layer, ".", absl::string_view(suffix.data(), suffix.size()));
}
}  // namespace tensor_names

}  // namespace fabric
