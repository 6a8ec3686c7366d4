#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/gguf_writer.h"
#include "model/llama2c_reader.h"
#include "model/model_file.h"
#include "tests/model/model_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::Dequantize;
using ::fabric::testing_util::kLlamaTokenizer;
using ::fabric::testing_util::kTok512;
using ::fabric::testing_util::Open;
using ::fabric::testing_util::ReadAll;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

SynthOptions Options(const std::string& file, TensorType type, uint64_t seed = 1) {
  SynthOptions options;
  options.shape = "tiny";
  options.tokenizer_path = kTok512;
  options.output_path = testing::TempDir() + "/" + file;
  options.type = type;
  options.seed = seed;
  return options;
}

TEST(SynthTest, WritesALoadableTinyModel) {
  for (TensorType type : {TensorType::kF32, TensorType::kF16, TensorType::kQ8_0}) {
    const SynthOptions options =
        Options(std::string("tiny_") + std::string(TensorTypeName(type)) + ".gguf", type);
    absl::StatusOr<SynthReport> report = SynthesizeModel(options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->kept_f32.empty());
    EXPECT_EQ(report->bytes, ReadAll(options.output_path).size());
    std::unique_ptr<ModelFile> model = Open(options.output_path);
    ASSERT_NE(model, nullptr);
    const ModelConfig& c = model->config();
    EXPECT_EQ(c.name, "synthetic-tiny");
    EXPECT_EQ(c.dim, 128);
    EXPECT_EQ(c.hidden_dim, 384);
    EXPECT_EQ(c.n_layers, 2);
    EXPECT_EQ(c.n_heads, 4);
    EXPECT_EQ(c.n_kv_heads, 2);
    EXPECT_EQ(c.context_length, 256);
    EXPECT_EQ(c.vocab_size, 512);
    EXPECT_EQ(model->tensors().size(), 2 + 2 * 9 + 1u);  // untied: output.weight
    absl::StatusOr<Vocabulary> tok512 = ReadLlama2cTokenizer(kTok512);
    ASSERT_TRUE(tok512.ok());
    EXPECT_EQ(model->vocabulary().pieces, tok512->pieces);
    EXPECT_EQ(model->vocabulary().scores, tok512->scores);
    for (const Tensor& tensor : model->tensors()) {
      const std::vector<float> values = Dequantize(tensor);
      if (tensor.shape.size() == 1) {
        EXPECT_EQ(tensor.type, TensorType::kF32);
        for (float v : values) ASSERT_EQ(v, 1.0f) << tensor.name;
        continue;
      }
      EXPECT_EQ(tensor.type, type) << tensor.name;
      // Uniform on [-a, a] with variance 1 / row_len.
      const double bound = std::sqrt(3.0 / tensor.row_len()) * 1.01;
      double sum = 0, sum_sq = 0;
      for (float v : values) {
        ASSERT_LE(std::fabs(v), bound) << tensor.name;
        sum += v;
        sum_sq += static_cast<double>(v) * v;
      }
      const double n = static_cast<double>(values.size());
      EXPECT_NEAR(sum / n, 0.0, 0.1 / std::sqrt(tensor.row_len())) << tensor.name;
      EXPECT_NEAR(sum_sq / n * tensor.row_len(), 1.0, 0.05) << tensor.name;
    }
  }
}

TEST(SynthTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const SynthOptions a = Options("seed_a.gguf", TensorType::kQ8_0, 42);
  const SynthOptions b = Options("seed_b.gguf", TensorType::kQ8_0, 42);
  const SynthOptions c = Options("seed_c.gguf", TensorType::kQ8_0, 43);
  ASSERT_TRUE(SynthesizeModel(a).ok());
  ASSERT_TRUE(SynthesizeModel(b).ok());
  ASSERT_TRUE(SynthesizeModel(c).ok());
  const std::vector<uint8_t> x = ReadAll(a.output_path), y = ReadAll(b.output_path);
  const std::vector<uint8_t> z = ReadAll(c.output_path);
  ASSERT_FALSE(x.empty());
  EXPECT_EQ(x, y);
  ASSERT_EQ(x.size(), z.size());
  EXPECT_NE(x, z);
}

TEST(SynthTest, RowsThatAreNotBlockMultiplesStayF32) {
  SynthOptions options = Options("stories260k_q8.gguf", TensorType::kQ8_0);
  options.shape = "stories260k";
  options.name = "odd rows";
  absl::StatusOr<SynthReport> report = SynthesizeModel(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->kept_f32,
              ElementsAre("blk.0.ffn_down.weight", "blk.1.ffn_down.weight", "blk.2.ffn_down.weight",
                          "blk.3.ffn_down.weight", "blk.4.ffn_down.weight"));
  std::unique_ptr<ModelFile> model = Open(options.output_path);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->config().name, "odd rows");
  EXPECT_EQ(model->FindTensor("blk.2.ffn_down.weight")->type, TensorType::kF32);
  EXPECT_EQ(model->FindTensor("blk.2.ffn_up.weight")->type, TensorType::kQ8_0);
  EXPECT_EQ(model->FindTensor("output.weight"), nullptr);  // tied, like llama2.c's
}

TEST(SynthTest, NamedShapes) {
  absl::StatusOr<ModelConfig> s110 = SynthShape("stories110m");
  ASSERT_TRUE(s110.ok());
  EXPECT_EQ(s110->dim, 768);
  EXPECT_EQ(s110->n_layers, 12);
  EXPECT_EQ(s110->n_heads, 12);
  EXPECT_EQ(s110->n_kv_heads, 12);
  EXPECT_EQ(s110->hidden_dim, 2048);
  EXPECT_EQ(s110->context_length, 1024);
  absl::StatusOr<ModelConfig> tl = SynthShape("tinyllama-1.1b");
  ASSERT_TRUE(tl.ok());
  EXPECT_EQ(tl->dim, 2048);
  EXPECT_EQ(tl->n_layers, 22);
  EXPECT_EQ(tl->n_heads, 32);
  EXPECT_EQ(tl->n_kv_heads, 4);
  EXPECT_EQ(tl->hidden_dim, 5632);
  EXPECT_EQ(tl->context_length, 2048);
  EXPECT_EQ(tl->kv_dim(), 256);
  EXPECT_THAT(SynthShapeNames(), ::testing::Contains("tiny"));
  absl::Status unknown = SynthShape("gpt-5").status();
  EXPECT_THAT(unknown.message(), HasSubstr("gpt-5"));
  EXPECT_THAT(unknown.message(), HasSubstr("tinyllama-1.1b"));
}

TEST(SynthTest, ReportsBadOptions) {
  SynthOptions options = Options("bad.gguf", TensorType::kF32);
  options.tokenizer_path = "";
  EXPECT_THAT(SynthesizeModel(options).status().message(), HasSubstr("tokenizer"));
  options.tokenizer_path = testing::TempDir() + "/no_such_tokenizer.bin";
  EXPECT_THAT(SynthesizeModel(options).status().message(), HasSubstr("no_such_tokenizer.bin"));
  options.tokenizer_path = kTok512;
  options.shape = "huge";
  EXPECT_THAT(SynthesizeModel(options).status().message(), HasSubstr("'huge'"));
}

TEST(SynthTest, UsesTheLlama2Vocabulary) {
  SynthOptions options = Options("tiny_llama_vocab.gguf", TensorType::kQ8_0);
  options.tokenizer_path = kLlamaTokenizer;
  absl::StatusOr<SynthReport> report = SynthesizeModel(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->config.vocab_size, 32000);
  std::unique_ptr<ModelFile> model = Open(options.output_path);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->FindTensor("token_embd.weight")->shape, (std::vector<int64_t>{128, 32000}));
}

}  // namespace
}  // namespace fabric
