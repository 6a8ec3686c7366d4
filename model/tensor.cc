#include "model/tensor.h"

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

int64_t TensorBlockSize(TensorType type) {
  return type == TensorType::kQ8_0 ? kQ8BlockSize : 1;
}

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

namespace tensor_names {
std::string Layer(int layer, std::string_view suffix) {
  return absl::StrCat("blk.", layer, ".", absl::string_view(suffix.data(), suffix.size()));
}
}  // namespace tensor_names

}  // namespace fabric
