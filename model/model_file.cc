#include "model/model_file.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/gguf_file.h"
#include "model/gguf_reader.h"
#include "model/llama2c_reader.h"

namespace fabric {

ModelFile::ModelFile(std::string path, std::unique_ptr<MappedFile> mapping, ModelConfig config,
                     std::vector<Tensor> tensors, Vocabulary vocabulary,
                     std::optional<std::string> chat_template)
    : path_(std::move(path)),
      mapping_(std::move(mapping)),
      config_(std::move(config)),
      tensors_(std::move(tensors)),
      vocabulary_(std::move(vocabulary)),
      chat_template_(std::move(chat_template)) {}

const Tensor* ModelFile::FindTensor(std::string_view name) const {
  for (const Tensor& tensor : tensors_) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

// Dispatches on content: the "GGUF" magic means GGUF; a *.gguf name without it is an error;
// anything else is read as a llama2.c checkpoint, which has no magic.
absl::StatusOr<std::unique_ptr<ModelFile>> ModelFile::Open(const std::string& path,
                                                           const std::string& tokenizer_path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapping, MappedFile::Open(path));
  const std::span<const uint8_t> bytes = mapping->bytes();
  if (bytes.size() >= sizeof kGgufMagic &&
      std::memcmp(bytes.data(), kGgufMagic, sizeof kGgufMagic) == 0) {
    return ReadGgufModel(std::move(mapping));
  }
  if (absl::EndsWithIgnoreCase(path, ".gguf")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": bad magic: a .gguf file must start with \"GGUF\""));
  }
  if (tokenizer_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": not a GGUF file, so read as a llama2.c checkpoint, which needs a tokenizer "
                     "file; the tokenizer path is missing"));
  }
  return ReadLlama2cModel(std::move(mapping), tokenizer_path);
}

}  // namespace fabric
