// A model loaded from disk: its config, its weight tensors (memory-mapped) and its vocabulary.
#ifndef FABRIC_MODEL_MODEL_FILE_H_
#define FABRIC_MODEL_MODEL_FILE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mapped_file.h"
#include "model/model_config.h"
#include "model/tensor.h"
#include "model/vocabulary.h"

namespace fabric {

// Owns the mapping its tensors point into. Immutable after Open: safe to share across threads.
class ModelFile {
 public:
  // Opens a GGUF v3 file (llama architecture; F32, F16 and Q8_0 tensors; embedded vocabulary)
  // or a llama2.c checkpoint, which needs `tokenizer_path` (a llama2.c tokenizer file).
  // Errors name the file and the problem: truncation, bad magic, unsupported types, sizes that
  // do not match the header, missing tensors or metadata.
  static absl::StatusOr<std::unique_ptr<ModelFile>> Open(const std::string& path,
                                                         const std::string& tokenizer_path = "");

  const std::string& path() const { return path_; }
  const ModelConfig& config() const { return config_; }
  const Vocabulary& vocabulary() const { return vocabulary_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }
  // The chat template embedded in a GGUF file, if any.
  const std::optional<std::string>& chat_template() const { return chat_template_; }

  // The tensor named `name`, or nullptr.
  const Tensor* FindTensor(std::string_view name) const;

  // For the format readers.
  ModelFile(std::string path, std::unique_ptr<MappedFile> mapping, ModelConfig config,
            std::vector<Tensor> tensors, Vocabulary vocabulary,
            std::optional<std::string> chat_template);

 private:
  std::string path_;
  std::unique_ptr<MappedFile> mapping_;
  ModelConfig config_;
  std::vector<Tensor> tensors_;
  Vocabulary vocabulary_;
  std::optional<std::string> chat_template_;
};

}  // namespace fabric

#endif  // FABRIC_MODEL_MODEL_FILE_H_
