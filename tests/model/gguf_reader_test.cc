#include "model/gguf_reader.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/formats.h"
#include "model/gguf_file.h"
#include "model/gguf_writer.h"
#include "model/model_file.h"
#include "tests/model/model_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::Dequantize;
using ::fabric::testing_util::ExpectSameHyperparameters;
using ::fabric::testing_util::kStories260K;
using ::fabric::testing_util::kStoriesBin;
using ::fabric::testing_util::kStoriesGguf;
using ::fabric::testing_util::kSyntheticDir;
using ::fabric::testing_util::kTok512;
using ::fabric::testing_util::Open;
using ::testing::HasSubstr;

TEST(GgufReaderTest, ReadsStories260K) {
  std::unique_ptr<ModelFile> model = Open(kStoriesGguf);
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.name, "llama");
  ExpectSameHyperparameters(c, kStories260K);  // rope_theta is absent from the file: the default
  EXPECT_EQ(model->tensors().size(), 48u);
  for (const Tensor& tensor : model->tensors()) EXPECT_EQ(tensor.type, TensorType::kF32);
  const Tensor* down = model->FindTensor("blk.4.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->shape, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(down->row_len(), 172);
  EXPECT_EQ(down->rows(), 64);
  EXPECT_EQ(down->data.size(), 172u * 64 * 4);
  EXPECT_NE(model->FindTensor("output.weight"), nullptr);
  EXPECT_EQ(model->FindTensor("blk.5.ffn_down.weight"), nullptr);
  EXPECT_FALSE(model->chat_template().has_value());

  const Vocabulary& vocab = model->vocabulary();
  EXPECT_EQ(vocab.bos_id, 1);
  EXPECT_EQ(vocab.eos_id, 2);
  EXPECT_TRUE(vocab.add_bos);
  EXPECT_EQ(vocab.pieces[1], "<s>");
  EXPECT_EQ(vocab.kinds[1], TokenKind::kControl);
  EXPECT_EQ(vocab.pieces[3], "<0x00>");
  EXPECT_EQ(vocab.kinds[3], TokenKind::kByte);
  EXPECT_EQ(vocab.pieces[410], " ");  // stored as U+2581 in the file
  EXPECT_EQ(vocab.pieces[403], " Once");
}

TEST(GgufReaderTest, MatchesTheLlama2cCheckpointBitForBit) {
  std::unique_ptr<ModelFile> gguf = Open(kStoriesGguf);
  std::unique_ptr<ModelFile> bin = Open(kStoriesBin, kTok512);
  ASSERT_NE(gguf, nullptr);
  ASSERT_NE(bin, nullptr);
  ExpectSameHyperparameters(gguf->config(), bin->config());
  // The checkpoint shares its classifier; llama.cpp's converter wrote it out as output.weight.
  EXPECT_EQ(bin->tensors().size() + 1, gguf->tensors().size());
  for (const Tensor& tensor : bin->tensors()) {
    const Tensor* other = gguf->FindTensor(tensor.name);
    ASSERT_NE(other, nullptr) << tensor.name;
    EXPECT_EQ(other->type, TensorType::kF32);
    EXPECT_EQ(other->shape, tensor.shape) << tensor.name;
    ASSERT_EQ(other->data.size(), tensor.data.size()) << tensor.name;
    EXPECT_EQ(std::memcmp(other->data.data(), tensor.data.data(), tensor.data.size()), 0)
        << tensor.name;
  }
  const Tensor* output = gguf->FindTensor("output.weight");
  const Tensor* embedding = bin->FindTensor("token_embd.weight");
  ASSERT_TRUE(output != nullptr && embedding != nullptr);
  ASSERT_EQ(output->data.size(), embedding->data.size());
  EXPECT_EQ(std::memcmp(output->data.data(), embedding->data.data(), output->data.size()), 0);
}

TEST(GgufReaderTest, ReadsLlamaCppF16AndQ8_0Files) {
  std::unique_ptr<ModelFile> f16 = Open(kSyntheticDir + "tiny-f16.gguf");
  std::unique_ptr<ModelFile> q8 = Open(kSyntheticDir + "tiny-q8_0.gguf");
  ASSERT_NE(f16, nullptr);
  ASSERT_NE(q8, nullptr);
  for (const ModelFile* model : {f16.get(), q8.get()}) {
    const ModelConfig& c = model->config();
    EXPECT_EQ(c.name, "tiny-synthetic");
    EXPECT_EQ(c.dim, 128);
    EXPECT_EQ(c.hidden_dim, 384);
    EXPECT_EQ(c.n_layers, 2);
    EXPECT_EQ(c.n_heads, 4);
    EXPECT_EQ(c.n_kv_heads, 2);
    EXPECT_EQ(c.kv_dim(), 64);
    EXPECT_EQ(c.vocab_size, 32000);
    EXPECT_EQ(c.context_length, 256);
    EXPECT_EQ(model->tensors().size(), 21u);
    EXPECT_EQ(model->vocabulary().pieces[1], "<s>");
  }
  EXPECT_EQ(f16->FindTensor("blk.0.attn_q.weight")->type, TensorType::kF16);
  EXPECT_EQ(q8->FindTensor("blk.0.attn_q.weight")->type, TensorType::kQ8_0);
  EXPECT_EQ(q8->FindTensor("blk.0.attn_norm.weight")->type, TensorType::kF32);
  EXPECT_EQ(q8->FindTensor("token_embd.weight")->data.size(), 128u * 32000 / 32 * 34);
  // The Q8_0 file quantizes the same weights: each value within half a quantization step.
  for (const Tensor& tensor : f16->tensors()) {
    const Tensor* other = q8->FindTensor(tensor.name);
    ASSERT_NE(other, nullptr) << tensor.name;
    const std::vector<float> a = Dequantize(tensor), b = Dequantize(*other);
    ASSERT_EQ(a.size(), b.size());
    for (size_t block = 0; block < a.size(); block += 32) {
      float amax = 0;
      for (size_t i = block; i < block + 32 && i < a.size(); ++i)
        amax = std::max(amax, std::fabs(a[i]));
      const float tolerance = amax / 127 * 0.51f + amax * 2e-3f;
      for (size_t i = block; i < block + 32 && i < a.size(); ++i) {
        ASSERT_NEAR(a[i], b[i], tolerance) << tensor.name << "[" << i << "]";
      }
    }
  }
}

TEST(GgufReaderTest, RejectsQ4_0NamingTheTypeTensorAndFile) {
  const std::string path = kSyntheticDir + "tiny-q4_0.gguf";
  absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(path);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr(path));
  EXPECT_THAT(model.status().message(), HasSubstr("Q4_0"));
  EXPECT_THAT(model.status().message(), HasSubstr("'output.weight'"));
}

TEST(GgufFileTest, ExposesMetadataAndTensorInfos) {
  absl::StatusOr<std::unique_ptr<MappedFile>> mapping = MappedFile::Open(kStoriesGguf);
  ASSERT_TRUE(mapping.ok());
  absl::StatusOr<GgufFile> gguf = GgufFile::Parse(kStoriesGguf, (*mapping)->bytes());
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  EXPECT_EQ(gguf->version(), 3u);
  EXPECT_EQ(gguf->alignment(), 32u);
  EXPECT_EQ(gguf->data_offset() % 32, 0u);
  EXPECT_EQ(gguf->tensors().size(), 48u);
  EXPECT_EQ(gguf->Keys().size(), 19u);
  EXPECT_EQ(*gguf->GetString("general.architecture"), "llama");
  EXPECT_EQ(*gguf->GetInt("llama.block_count"), 5);
  EXPECT_EQ(*gguf->GetInt("tokenizer.ggml.padding_token_id"), 4294967295);
  EXPECT_NEAR(*gguf->GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  EXPECT_EQ(gguf->GetStringArray("tokenizer.ggml.tokens")->at(410), "\u2581");
  EXPECT_EQ(gguf->GetIntArray("tokenizer.ggml.token_type")->at(0), 2);
  EXPECT_EQ(gguf->GetFloatArray("tokenizer.ggml.scores")->size(), 512u);
  EXPECT_EQ(gguf->tensors()[0].name, "token_embd.weight");
  EXPECT_EQ(gguf->tensors()[0].shape, (std::vector<int64_t>{64, 512}));

  absl::Status missing = gguf->GetInt("llama.nope").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("llama.nope"));
  absl::Status wrong = gguf->GetInt("general.name").status();
  EXPECT_THAT(wrong.message(), HasSubstr("'general.name' is string, expected an integer"));
  EXPECT_THAT(std::string(gguf->GetBool("tokenizer.ggml.scores").status().message()),
              HasSubstr("array of float32"));
}

TEST(GgufFileTest, NamesGgmlTypes) {
  EXPECT_EQ(GgmlTypeName(0), "F32");
  EXPECT_EQ(GgmlTypeName(2), "Q4_0");
  EXPECT_EQ(GgmlTypeName(8), "Q8_0");
  EXPECT_EQ(GgmlTypeName(14), "Q6_K");
  EXPECT_EQ(GgmlTypeName(30), "BF16");
  EXPECT_EQ(GgmlTypeName(1000), "type 1000");
}

}  // namespace
}  // namespace fabric
