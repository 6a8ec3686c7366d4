// Reads llama2.c checkpoints (version 0, float32) and llama2.c tokenizer files.
#ifndef FABRIC_MODEL_LLAMA2C_READER_H_
#define FABRIC_MODEL_LLAMA2C_READER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/mapped_file.h"
#include "model/model_file.h"
#include "model/vocabulary.h"

namespace fabric {

// Reads a llama2.c tokenizer file: int32 max_token_length, then for each piece a float32
// score, an int32 length and the bytes, up to the end of the file. Ids 0, 1 and 2 are
// <unk> (kUnknown), <s> and </s> (kControl; bos 1, eos 2); "<0x00>".."<0xFF>" are kByte.
absl::StatusOr<Vocabulary> ReadLlama2cTokenizer(const std::string& path);

// Reads a llama2.c checkpoint from `mapping`: a header of seven int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; negative vocab_size = separate
// classifier), then float32 tensors. They appear under GGUF names and shapes, F32, viewing
// the mapping; a shared classifier has no "output.weight". The file size must be exactly what
// the header implies. The vocabulary comes from `tokenizer_path` and must match vocab_size.
absl::StatusOr<std::unique_ptr<ModelFile>> ReadLlama2cModel(std::unique_ptr<MappedFile> mapping,
                                                            const std::string& tokenizer_path);

}  // namespace fabric

#endif  // FABRIC_MODEL_LLAMA2C_READER_H_
