// Helpers shared by the model tests: where the model files are, reading a file whole, opening a
// model, dequantizing a tensor, and comparing configs. Only for targets built with fabric_test,
// which defines FABRIC_SOURCE_DIR and FABRIC_SHARED_MODELS_DIR.
#ifndef FABRIC_TESTS_MODEL_MODEL_TEST_UTIL_H_
#define FABRIC_TESTS_MODEL_MODEL_TEST_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "model/model_config.h"
#include "model/model_file.h"
#include "model/tensor.h"

namespace fabric::testing_util {

// stories260K, bundled: llama2.c's checkpoint, llama.cpp's GGUF of it, and its tokenizer.
inline const std::string kStoriesBin =
    std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
inline const std::string kStoriesGguf =
    std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/stories260K.gguf";
inline const std::string kTok512 =
    std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/tok512.bin";
// The Llama 2 tokenizer (32000 pieces) in llama2.c's format, bundled.
inline const std::string kLlamaTokenizer =
    std::string(FABRIC_SOURCE_DIR) + "/models/llama2-tokenizer/tokenizer.bin";
// The shared, not bundled, llama.cpp-written GGUFs: tiny-f16.gguf, tiny-q8_0.gguf, tiny-q4_0.gguf.
inline const std::string kSyntheticDir = std::string(FABRIC_SHARED_MODELS_DIR) + "/synthetic/";

// stories260K's config as the .bin gives it; the GGUF's name is "llama".
inline const ModelConfig kStories260K = {.name = "stories260K",
                                         .dim = 64,
                                         .hidden_dim = 172,
                                         .n_layers = 5,
                                         .n_heads = 8,
                                         .n_kv_heads = 4,
                                         .vocab_size = 512,
                                         .context_length = 512,
                                         .rms_norm_eps = 1e-5f,
                                         .rope_theta = 10000.0f};

// The bytes of the file at `path`; empty when it cannot be opened.
inline std::vector<uint8_t> ReadAll(const std::string& path) {
  std::vector<uint8_t> bytes;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return bytes;
  uint8_t buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) {
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  std::fclose(file);
  return bytes;
}

// Opens a model, expecting success; nullptr (and a test failure) otherwise.
inline std::unique_ptr<ModelFile> Open(const std::string& path, const std::string& tokenizer = "") {
  absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(path, tokenizer);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : nullptr;
}

// Every element of `tensor` as floats, expecting success.
inline std::vector<float> Dequantize(const Tensor& tensor) {
  std::vector<float> values(tensor.elements());
  EXPECT_TRUE(DequantizeRows(tensor, 0, tensor.rows(), values).ok());
  return values;
}

// Expects every field of `actual` but its name to equal `expected`'s.
inline void ExpectSameHyperparameters(const ModelConfig& actual, const ModelConfig& expected) {
  EXPECT_EQ(actual.dim, expected.dim);
  EXPECT_EQ(actual.hidden_dim, expected.hidden_dim);
  EXPECT_EQ(actual.n_layers, expected.n_layers);
  EXPECT_EQ(actual.n_heads, expected.n_heads);
  EXPECT_EQ(actual.n_kv_heads, expected.n_kv_heads);
  EXPECT_EQ(actual.vocab_size, expected.vocab_size);
  EXPECT_EQ(actual.context_length, expected.context_length);
  EXPECT_EQ(actual.rms_norm_eps, expected.rms_norm_eps);
  EXPECT_EQ(actual.rope_theta, expected.rope_theta);
}

}  // namespace fabric::testing_util

#endif  // FABRIC_TESTS_MODEL_MODEL_TEST_UTIL_H_
