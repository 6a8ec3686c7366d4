#include "model/llama2c_reader.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_file.h"
#include "tests/model/model_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::ExpectSameHyperparameters;
using ::fabric::testing_util::kLlamaTokenizer;
using ::fabric::testing_util::kStories260K;
using ::fabric::testing_util::kStoriesBin;
using ::fabric::testing_util::kTok512;
using ::fabric::testing_util::Open;
using ::fabric::testing_util::ReadAll;
using ::testing::HasSubstr;

float FloatAt(std::span<const uint8_t> data, size_t index) {
  float value;
  std::memcpy(&value, data.data() + index * sizeof value, sizeof value);
  return value;
}

void WriteAll(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  ASSERT_EQ(std::fclose(file), 0);
}

TEST(Llama2cReaderTest, ReadsStories260K) {
  std::unique_ptr<ModelFile> model = Open(kStoriesBin, kTok512);
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.name, "stories260K");
  ExpectSameHyperparameters(c, kStories260K);
  // Shared classifier: no output.weight; 1 + 5 * 9 + 1 tensors.
  EXPECT_EQ(model->tensors().size(), 47u);
  EXPECT_EQ(model->FindTensor("output.weight"), nullptr);
  const std::vector<uint8_t> file = ReadAll(kStoriesBin);
  const Tensor* embedding = model->FindTensor("token_embd.weight");
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(embedding->shape, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embedding->type, TensorType::kF32);
  // Views into the mapping, at the offsets llama2.c's memory_map_weights uses.
  EXPECT_EQ(std::memcmp(embedding->data.data(), file.data() + 28, 4), 0);
  const size_t wq_offset = 28 + 4 * (64 * 512 + 5 * 64);
  const Tensor* wq1 = model->FindTensor("blk.1.attn_q.weight");
  ASSERT_NE(wq1, nullptr);
  EXPECT_EQ(std::memcmp(wq1->data.data(), file.data() + wq_offset + 4 * 64 * 64, 64 * 64 * 4), 0);
  const Tensor* w2 = model->FindTensor("blk.0.ffn_down.weight");
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(w2->shape, (std::vector<int64_t>{172, 64}));
  const Tensor* norm = model->FindTensor("output_norm.weight");
  ASSERT_NE(norm, nullptr);
  // The final norm ends where the RoPE tables (2 * 512 * 8 / 2 floats) start, which end the
  // file. Offsets are relative to the embedding, which starts after the 28-byte header.
  const size_t norm_end = 28 + (norm->data.data() - embedding->data.data()) + norm->data.size();
  EXPECT_EQ(norm_end + 4 * 512 * 8, file.size());
  EXPECT_EQ(FloatAt(norm->data, 0), FloatAt(std::span(file).subspan(norm_end - 4 * 64), 0));
}

// A checkpoint with a separate classifier (negative vocab_size), built by hand.
TEST(Llama2cReaderTest, NegativeVocabSizeMeansASeparateClassifier) {
  // dim 8, hidden 16, 1 layer, 2 heads, 1 kv head, vocab 5 (separate), seq_len 4.
  const int32_t header[7] = {8, 16, 1, 2, 1, -5, 4};
  const size_t floats =
      5 * 8 + 8 + 8 * 8 + 2 * 8 * 4 + 8 * 8 + 8 + 3 * 8 * 16 + 8 + 2 * (4 * 4 / 2) + 5 * 8;
  std::vector<uint8_t> bytes(sizeof header + floats * 4);
  std::memcpy(bytes.data(), header, sizeof header);
  for (size_t i = 0; i < floats; ++i) {
    const float value = static_cast<float>(i);
    std::memcpy(bytes.data() + sizeof header + 4 * i, &value, 4);
  }
  const std::string path = testing::TempDir() + "/separate_classifier.bin";
  WriteAll(path, bytes);
  const std::string tokenizer = testing::TempDir() + "/five_pieces.bin";
  std::vector<uint8_t> tok = {7, 0, 0, 0};
  for (const char* piece : {"<unk>", "<s>", "</s>", "a", "b"}) {
    const float score = 0;
    const int32_t length = static_cast<int32_t>(std::strlen(piece));
    tok.insert(tok.end(), reinterpret_cast<const uint8_t*>(&score),
               reinterpret_cast<const uint8_t*>(&score) + 4);
    tok.insert(tok.end(), reinterpret_cast<const uint8_t*>(&length),
               reinterpret_cast<const uint8_t*>(&length) + 4);
    tok.insert(tok.end(), piece, piece + length);
  }
  WriteAll(tokenizer, tok);

  std::unique_ptr<ModelFile> model = Open(path, tokenizer);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->config().vocab_size, 5);
  EXPECT_EQ(model->config().kv_dim(), 4);
  const Tensor* output = model->FindTensor("output.weight");
  ASSERT_NE(output, nullptr);
  EXPECT_EQ(output->shape, (std::vector<int64_t>{8, 5}));
  EXPECT_EQ(FloatAt(output->data, 0), static_cast<float>(floats - 5 * 8));  // after RoPE
  const Tensor* wk = model->FindTensor("blk.0.attn_k.weight");
  ASSERT_NE(wk, nullptr);
  EXPECT_EQ(wk->shape, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(FloatAt(wk->data, 0), static_cast<float>(5 * 8 + 8 + 8 * 8));
  const Tensor* w3 = model->FindTensor("blk.0.ffn_up.weight");
  ASSERT_NE(w3, nullptr);
  EXPECT_EQ(FloatAt(w3->data, 0), static_cast<float>(5 * 8 + 8 + 2 * 64 + 2 * 32 + 8 + 2 * 128));
  EXPECT_EQ(model->vocabulary().pieces[4], "b");
}

TEST(Llama2cTokenizerTest, ReadsTok512) {
  absl::StatusOr<Vocabulary> vocab = ReadLlama2cTokenizer(kTok512);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  ASSERT_EQ(vocab->size(), 512);
  ASSERT_EQ(vocab->scores.size(), 512u);
  ASSERT_EQ(vocab->kinds.size(), 512u);
  EXPECT_EQ(vocab->pieces[0], "<unk>");
  EXPECT_EQ(vocab->pieces[1], "\n<s>\n");
  EXPECT_EQ(vocab->pieces[2], "\n</s>\n");
  EXPECT_EQ(vocab->kinds[0], TokenKind::kUnknown);
  EXPECT_EQ(vocab->kinds[1], TokenKind::kControl);
  EXPECT_EQ(vocab->kinds[2], TokenKind::kControl);
  EXPECT_EQ(vocab->pieces[3], "<0x00>");
  EXPECT_EQ(vocab->pieces[258], "<0xFF>");
  for (int id = 3; id <= 258; ++id) EXPECT_EQ(vocab->kinds[id], TokenKind::kByte) << id;
  for (int id = 259; id < 512; ++id) EXPECT_EQ(vocab->kinds[id], TokenKind::kNormal) << id;
  EXPECT_EQ(vocab->pieces[259], " t");
  EXPECT_EQ(vocab->scores[260], -1.0f);
  EXPECT_EQ(vocab->pieces[410], " ");
  EXPECT_EQ(vocab->bos_id, 1);
  EXPECT_EQ(vocab->eos_id, 2);
  EXPECT_TRUE(vocab->add_bos);
}

TEST(Llama2cTokenizerTest, ReadsTheLlama2Vocabulary) {
  absl::StatusOr<Vocabulary> vocab = ReadLlama2cTokenizer(kLlamaTokenizer);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->size(), 32000);
  EXPECT_EQ(vocab->pieces[31999], "\xe7\xbb\x99");  // the last piece, "给"
}

}  // namespace
}  // namespace fabric
