#include "model/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/formats.h"
#include "model/gguf_file.h"
#include "model/gguf_reader.h"
#include "model/model_file.h"
#include "tests/model/model_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::Dequantize;
using ::fabric::testing_util::ExpectSameHyperparameters;
using ::fabric::testing_util::kStoriesBin;
using ::fabric::testing_util::kSyntheticDir;
using ::fabric::testing_util::kTok512;
using ::fabric::testing_util::Open;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void ExpectSameConfigAndVocabulary(const ModelFile& a, const ModelFile& b) {
  EXPECT_EQ(a.config().name, b.config().name);
  ExpectSameHyperparameters(a.config(), b.config());
  const Vocabulary &u = a.vocabulary(), &v = b.vocabulary();
  EXPECT_EQ(u.pieces, v.pieces);
  EXPECT_EQ(u.scores, v.scores);
  EXPECT_EQ(u.kinds, v.kinds);
  EXPECT_EQ(u.bos_id, v.bos_id);
  EXPECT_EQ(u.eos_id, v.eos_id);
  EXPECT_EQ(u.add_bos, v.add_bos);
  EXPECT_EQ(a.chat_template(), b.chat_template());
}

// Writes stories260K.bin as `type` and reads it back.
struct RoundTrip {
  std::unique_ptr<ModelFile> source;
  std::unique_ptr<ModelFile> copy;
  std::vector<std::string> kept_f32;
};

RoundTrip WriteStories(TensorType type, const std::string& name) {
  RoundTrip trip;
  trip.source = Open(kStoriesBin, kTok512);
  if (trip.source == nullptr) return trip;
  const std::string path = testing::TempDir() + "/" + name;
  absl::StatusOr<std::vector<std::string>> kept = WriteModelGguf(*trip.source, type, path);
  EXPECT_TRUE(kept.ok()) << kept.status();
  if (!kept.ok()) return trip;
  trip.kept_f32 = *kept;
  trip.copy = Open(path);
  return trip;
}

TEST(GgufWriterTest, F32RoundTripIsExact) {
  RoundTrip trip = WriteStories(TensorType::kF32, "stories_f32.gguf");
  ASSERT_NE(trip.copy, nullptr);
  ExpectSameConfigAndVocabulary(*trip.source, *trip.copy);
  EXPECT_TRUE(trip.kept_f32.empty());
  ASSERT_EQ(trip.copy->tensors().size(), trip.source->tensors().size());
  for (const Tensor& tensor : trip.source->tensors()) {
    const Tensor* copy = trip.copy->FindTensor(tensor.name);
    ASSERT_NE(copy, nullptr) << tensor.name;
    EXPECT_EQ(copy->type, TensorType::kF32);
    EXPECT_EQ(copy->shape, tensor.shape);
    ASSERT_EQ(copy->data.size(), tensor.data.size());
    EXPECT_EQ(std::memcmp(copy->data.data(), tensor.data.data(), tensor.data.size()), 0);
  }
}

TEST(GgufWriterTest, F16RoundTripIsWithinHalfPrecision) {
  RoundTrip trip = WriteStories(TensorType::kF16, "stories_f16.gguf");
  ASSERT_NE(trip.copy, nullptr);
  ExpectSameConfigAndVocabulary(*trip.source, *trip.copy);
  EXPECT_TRUE(trip.kept_f32.empty());
  int f16 = 0;
  for (const Tensor& tensor : trip.source->tensors()) {
    const Tensor* copy = trip.copy->FindTensor(tensor.name);
    ASSERT_NE(copy, nullptr) << tensor.name;
    EXPECT_EQ(copy->type, tensor.shape.size() == 1 ? TensorType::kF32 : TensorType::kF16);
    f16 += copy->type == TensorType::kF16;
    const std::vector<float> a = Dequantize(tensor), b = Dequantize(*copy);
    for (size_t i = 0; i < a.size(); ++i) {
      // fp16 keeps 11 significant bits; values here are far from its subnormal range.
      ASSERT_NEAR(b[i], a[i], std::fabs(a[i]) * 4.9e-4f + 1e-7f) << tensor.name << i;
    }
  }
  EXPECT_EQ(f16, 1 + 5 * 7);
}

TEST(GgufWriterTest, Q8_0RoundTripIsWithinHalfAStepAndKeepsOddRowsF32) {
  RoundTrip trip = WriteStories(TensorType::kQ8_0, "stories_q8.gguf");
  ASSERT_NE(trip.copy, nullptr);
  ExpectSameConfigAndVocabulary(*trip.source, *trip.copy);
  // ffn_down's rows are 172 long, not a multiple of 32.
  EXPECT_THAT(trip.kept_f32,
              ElementsAre("blk.0.ffn_down.weight", "blk.1.ffn_down.weight", "blk.2.ffn_down.weight",
                          "blk.3.ffn_down.weight", "blk.4.ffn_down.weight"));
  for (const Tensor& tensor : trip.source->tensors()) {
    const Tensor* copy = trip.copy->FindTensor(tensor.name);
    ASSERT_NE(copy, nullptr) << tensor.name;
    const bool f32 = tensor.shape.size() == 1 || tensor.row_len() % 32 != 0;
    EXPECT_EQ(copy->type, f32 ? TensorType::kF32 : TensorType::kQ8_0) << tensor.name;
    const std::vector<float> a = Dequantize(tensor), b = Dequantize(*copy);
    for (size_t block = 0; block < a.size(); block += 32) {
      float amax = 0;
      for (size_t i = block; i < std::min(a.size(), block + 32); ++i) {
        amax = std::max(amax, std::fabs(a[i]));
      }
      // Half a step of d = amax / 127, plus 127 times d's fp16 rounding error (2^-11 d).
      const float tolerance = f32 ? 0.0f : amax / 127 * 0.57f;
      for (size_t i = block; i < std::min(a.size(), block + 32); ++i) {
        ASSERT_LE(std::fabs(b[i] - a[i]), tolerance) << tensor.name << "[" << i << "]";
      }
    }
  }
}

TEST(GgufWriterTest, CopiesQuantizedTensorsBitForBit) {
  std::unique_ptr<ModelFile> source = Open(kSyntheticDir + "tiny-q8_0.gguf");
  ASSERT_NE(source, nullptr);
  const std::string path = testing::TempDir() + "/tiny_copy_q8.gguf";
  absl::StatusOr<std::vector<std::string>> kept = WriteModelGguf(*source, TensorType::kQ8_0, path);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_TRUE(kept->empty());
  std::unique_ptr<ModelFile> copy = Open(path);
  ASSERT_NE(copy, nullptr);
  ExpectSameConfigAndVocabulary(*source, *copy);
  for (const Tensor& tensor : source->tensors()) {
    const Tensor* other = copy->FindTensor(tensor.name);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->type, tensor.type);
    ASSERT_EQ(other->data.size(), tensor.data.size());
    EXPECT_EQ(std::memcmp(other->data.data(), tensor.data.data(), tensor.data.size()), 0);
  }
}

TEST(GgufWriterTest, WritesLlamaCppMetadata) {
  std::unique_ptr<ModelFile> source = Open(kStoriesBin, kTok512);
  ASSERT_NE(source, nullptr);
  const std::string path = testing::TempDir() + "/stories_meta.gguf";
  ASSERT_TRUE(WriteModelGguf(*source, TensorType::kQ8_0, path).ok());
  absl::StatusOr<std::unique_ptr<MappedFile>> mapping = MappedFile::Open(path);
  ASSERT_TRUE(mapping.ok());
  absl::StatusOr<GgufFile> gguf = GgufFile::Parse(path, (*mapping)->bytes());
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  EXPECT_EQ(gguf->version(), 3u);
  EXPECT_EQ(*gguf->GetString("general.architecture"), "llama");
  EXPECT_EQ(*gguf->GetString("general.name"), "stories260K");
  EXPECT_EQ(*gguf->GetInt("general.file_type"), 7);  // MOSTLY_Q8_0
  EXPECT_EQ(*gguf->GetInt("llama.rope.dimension_count"), 8);
  EXPECT_EQ(*gguf->GetInt("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(*gguf->GetString("tokenizer.ggml.model"), "llama");
  const std::vector<std::string> tokens = *gguf->GetStringArray("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens[410], "\u2581");
  EXPECT_EQ(tokens[403], "\u2581Once");
  EXPECT_EQ(tokens[1], "\n<s>\n");
  EXPECT_EQ(gguf->GetIntArray("tokenizer.ggml.token_type")->at(3), 6);
  for (const GgufTensorInfo& info : gguf->tensors()) {
    EXPECT_EQ(info.offset % 32, 0u) << info.name;
  }
  EXPECT_EQ(gguf->data_offset() % 32, 0u);
  // The last tensor's data ends the file, padded to the alignment.
  EXPECT_EQ((*mapping)->bytes().size() % 32, 0u);
}

TEST(GgufWriterTest, StreamsRowsAndKeepsAChatTemplate) {
  ModelConfig config{.name = "handmade",
                     .dim = 32,
                     .hidden_dim = 64,
                     .n_layers = 1,
                     .n_heads = 2,
                     .n_kv_heads = 1,
                     .vocab_size = 4,
                     .context_length = 16,
                     .rms_norm_eps = 1e-6f,
                     .rope_theta = 500000.0f};
  Vocabulary vocab;
  vocab.pieces = {"<unk>", "<s>", "</s>", " hi there"};
  vocab.scores = {0, 0, 0, -1.5f};
  vocab.kinds = {TokenKind::kUnknown, TokenKind::kControl, TokenKind::kControl, TokenKind::kNormal};
  vocab.add_bos = false;
  std::vector<GgufTensorSpec> specs;
  for (LlamaTensorShape& shape : LlamaTensorShapes(config, /*with_output=*/true)) {
    specs.push_back({shape.name, shape.shape, StorageType(TensorType::kQ8_0, shape.shape)});
  }
  const std::string path = testing::TempDir() + "/handmade.gguf";
  absl::StatusOr<std::unique_ptr<GgufWriter>> writer =
      GgufWriter::Create(path, config, vocab, specs, std::string("{{ messages }}"));
  ASSERT_TRUE(writer.ok()) << writer.status();
  // Each tensor in chunks of one row: values encode (tensor, index).
  for (size_t t = 0; t < specs.size(); ++t) {
    int64_t elements = 1;
    for (int64_t d : specs[t].shape) elements *= d;
    const int64_t row_len = specs[t].shape[0];
    EXPECT_EQ((*writer)->current_tensor(), t);
    for (int64_t row = 0; row < elements / row_len; ++row) {
      std::vector<float> values(row_len);
      for (int64_t i = 0; i < row_len; ++i) values[i] = 0.25f * t + (row * row_len + i) / 1024.0f;
      ASSERT_TRUE((*writer)->WriteRows(values).ok());
    }
  }
  ASSERT_TRUE((*writer)->Finish().ok());
  std::unique_ptr<ModelFile> model = Open(path);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->config().rope_theta, 500000.0f);
  EXPECT_EQ(model->config().rms_norm_eps, 1e-6f);
  EXPECT_EQ(model->chat_template(), "{{ messages }}");
  EXPECT_EQ(model->vocabulary().pieces[3], " hi there");
  EXPECT_FALSE(model->vocabulary().add_bos);
  const Tensor* down = model->FindTensor("blk.0.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->type, TensorType::kQ8_0);
  const std::vector<float> values = Dequantize(*down);
  const size_t t = 8;  // ffn_down's index in LlamaTensorShapes
  ASSERT_EQ(specs[t].name, "blk.0.ffn_down.weight");
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_NEAR(values[i], 0.25f * t + i / 1024.0f, 0.02f) << i;
  }
}

TEST(GgufWriterTest, RejectsMisuse) {
  ModelConfig config{.name = "bad",
                     .dim = 64,
                     .hidden_dim = 172,
                     .n_layers = 1,
                     .n_heads = 2,
                     .n_kv_heads = 2,
                     .vocab_size = 3,
                     .context_length = 8,
                     .rms_norm_eps = 1e-5f,
                     .rope_theta = 10000.0f};
  Vocabulary vocab;
  vocab.pieces = {"a", "b", "c"};
  vocab.scores = {0, 0, 0};
  vocab.kinds = {TokenKind::kNormal, TokenKind::kNormal, TokenKind::kNormal};
  const std::string path = testing::TempDir() + "/misuse.gguf";
  // Q8_0 needs rows that are a multiple of 32.
  absl::Status status =
      GgufWriter::Create(path, config, vocab, {{"w", {172, 64}, TensorType::kQ8_0}}).status();
  EXPECT_THAT(status.message(), HasSubstr("row length 172"));
  EXPECT_THAT(status.message(), HasSubstr("'w'"));

  // The vocabulary must match the config.
  config.vocab_size = 4;
  status = GgufWriter::Create(path, config, vocab, {}).status();
  EXPECT_THAT(status.message(), HasSubstr("does not fit the config's vocab_size 4"));
  config.vocab_size = 3;

  absl::StatusOr<std::unique_ptr<GgufWriter>> writer =
      GgufWriter::Create(path, config, vocab, {{"w", {64, 2}, TensorType::kF16}});
  ASSERT_TRUE(writer.ok());
  std::vector<float> row(64, 1.0f);
  EXPECT_FALSE((*writer)->WriteRows(std::span(row).first(63)).ok());  // not whole rows
  ASSERT_TRUE((*writer)->WriteRows(row).ok());
  EXPECT_THAT((*writer)->Finish().message(), HasSubstr("'w' is incomplete"));
  std::vector<float> two_rows(128, 1.0f);
  EXPECT_THAT((*writer)->WriteRows(two_rows).message(), HasSubstr("has 2 rows; 3 supplied"));
  ASSERT_TRUE((*writer)->WriteRows(row).ok());
  EXPECT_FALSE((*writer)->WriteRows(row).ok());  // past the last tensor
  EXPECT_TRUE((*writer)->Finish().ok());

  const std::string bad_path = testing::TempDir() + "/no/such/dir/x.gguf";
  status = GgufWriter::Create(bad_path, config, vocab, {}).status();
  EXPECT_THAT(status.message(), HasSubstr(bad_path));
  EXPECT_THAT(status.message(), HasSubstr("cannot create"));
}

TEST(GgufWriterTest, StorageTypePolicy) {
  EXPECT_EQ(StorageType(TensorType::kQ8_0, {64}), TensorType::kF32);
  EXPECT_EQ(StorageType(TensorType::kF16, {64}), TensorType::kF32);
  EXPECT_EQ(StorageType(TensorType::kQ8_0, {64, 172}), TensorType::kQ8_0);
  EXPECT_EQ(StorageType(TensorType::kQ8_0, {172, 64}), TensorType::kF32);
  EXPECT_EQ(StorageType(TensorType::kF16, {172, 64}), TensorType::kF16);
}

}  // namespace
}  // namespace fabric
