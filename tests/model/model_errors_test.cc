// Every malformed input fails cleanly, with a message naming the file and the problem.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/gguf_file.h"
#include "model/gguf_reader.h"
#include "model/gguf_writer.h"
#include "model/llama2c_reader.h"
#include "model/model_file.h"
#include "tests/model/model_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::kLlamaTokenizer;
using ::fabric::testing_util::kStoriesBin;
using ::fabric::testing_util::kStoriesGguf;
using ::fabric::testing_util::kTok512;
using ::fabric::testing_util::ReadAll;
using ::testing::HasSubstr;

using Bytes = std::vector<uint8_t>;

std::string WriteTemp(const std::string& name, const Bytes& bytes) {
  const std::string path = testing::TempDir() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr) << path;
  if (file == nullptr) return path;
  if (!bytes.empty()) {
    EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  }
  EXPECT_EQ(std::fclose(file), 0);
  return path;
}

// Opens `path` and expects an error whose message names the file and contains every phrase.
void ExpectOpenError(const std::string& path, const std::string& tokenizer,
                     std::initializer_list<std::string_view> phrases) {
  absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(path, tokenizer);
  ASSERT_FALSE(model.ok()) << path << " opened";
  const std::string message(model.status().message());
  EXPECT_THAT(message, HasSubstr(path));
  for (std::string_view phrase : phrases) EXPECT_THAT(message, HasSubstr(phrase)) << path;
}

// The offset just past the first occurrence of `needle` in `bytes`.
size_t After(const Bytes& bytes, std::string_view needle) {
  auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  EXPECT_NE(it, bytes.end()) << needle;
  return it - bytes.begin() + needle.size();
}

template <typename T>
void Poke(Bytes& bytes, size_t offset, T value) {
  ASSERT_LE(offset + sizeof value, bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

class GgufErrorsTest : public testing::Test {
 protected:
  void SetUp() override {
    gguf_ = ReadAll(kStoriesGguf);
    ASSERT_EQ(gguf_.size(), 1185376u);
    absl::StatusOr<GgufFile> parsed = GgufFile::Parse(kStoriesGguf, gguf_);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    data_offset_ = parsed->data_offset();
    // Tensor infos start with the first tensor's name, preceded by its u64 length.
    info_offset_ = After(gguf_, "token_embd.weight") - 17 - 8;
  }

  // Offsets of fields in the info of a 2-D tensor: n_dims, ne[0], ne[1], type, offset.
  size_t DimsField(std::string_view name) { return After(gguf_, name); }
  size_t TypeField(std::string_view name) { return After(gguf_, name) + 4 + 2 * 8; }
  size_t OffsetField(std::string_view name) { return TypeField(name) + 4; }

  Bytes gguf_;
  size_t data_offset_ = 0;
  size_t info_offset_ = 0;
};

TEST_F(GgufErrorsTest, TruncatedAtEachRegion) {
  struct Cut {
    size_t size;
    std::string_view phrase;
  };
  const std::vector<Cut> cuts = {
      {0, "bad magic"},                                   // empty
      {3, "bad magic"},                                   // inside the magic
      {10, "truncated GGUF file: the header"},            // inside the counts
      {40, "truncated"},                                  // the first metadata key
      {5000, "truncated"},                                // inside the token list
      {info_offset_ - 3, "truncated"},                    // the last metadata value
      {info_offset_ + 30, "truncated"},                   // the first tensor info
      {data_offset_ - 40, "truncated"},                   // the last tensor info
      {data_offset_ + 1000, "past the end of the file"},  // the first tensor's data
      {gguf_.size() - 1, "past the end of the file"},     // the last byte
  };
  for (const Cut& cut : cuts) {
    const std::string path = WriteTemp("cut_" + std::to_string(cut.size) + ".gguf",
                                       Bytes(gguf_.begin(), gguf_.begin() + cut.size));
    ExpectOpenError(path, "", {cut.phrase});
  }
}

TEST_F(GgufErrorsTest, WrongMagicAndVersion) {
  Bytes bytes = gguf_;
  bytes[3] = 'X';
  ExpectOpenError(WriteTemp("magic.gguf", bytes), "", {"bad magic"});
  // Without the .gguf name it is taken for a llama2.c checkpoint, whose header is absurd.
  ExpectOpenError(WriteTemp("magic.bin", bytes), kTok512, {"llama2.c"});
  bytes = gguf_;
  Poke<uint32_t>(bytes, 4, 2);  // version 2 has the same layout
  EXPECT_TRUE(ModelFile::Open(WriteTemp("version2.gguf", bytes)).ok());
  Poke<uint32_t>(bytes, 4, 1);
  ExpectOpenError(WriteTemp("version1.gguf", bytes), "", {"unsupported GGUF version 1"});
  Poke<uint32_t>(bytes, 4, 0x03000000);
  ExpectOpenError(WriteTemp("big_endian.gguf", bytes), "", {"big-endian"});
}

TEST_F(GgufErrorsTest, GarbageCountsAndTypes) {
  Bytes bytes = gguf_;
  Poke<uint64_t>(bytes, 16, uint64_t{1} << 60);  // metadata count
  ExpectOpenError(WriteTemp("kv_count.gguf", bytes), "", {"cannot fit"});
  bytes = gguf_;
  Poke<uint64_t>(bytes, 8, 5'000'000);  // tensor count
  ExpectOpenError(WriteTemp("tensor_count.gguf", bytes), "", {"cannot fit"});
  bytes = gguf_;
  Poke<uint32_t>(bytes, After(bytes, "tokenizer.ggml.tokens"), 99);  // value type
  ExpectOpenError(WriteTemp("value_type.gguf", bytes), "", {"unknown value type 99"});
  bytes = gguf_;
  // The token array's element count, right after its element type.
  Poke<uint64_t>(bytes, After(bytes, "tokenizer.ggml.tokens") + 8, uint64_t{1} << 62);
  ExpectOpenError(WriteTemp("array_count.gguf", bytes), "",
                  {"tokenizer.ggml.tokens", "cannot fit"});
  bytes = gguf_;
  Poke<uint32_t>(bytes, DimsField("blk.2.attn_k.weight"), 9);  // n_dims
  ExpectOpenError(WriteTemp("n_dims.gguf", bytes), "", {"'blk.2.attn_k.weight' has 9 dimensions"});
}

TEST_F(GgufErrorsTest, UnsupportedTensorType) {
  Bytes bytes = gguf_;
  Poke<uint32_t>(bytes, TypeField("blk.0.attn_q.weight"), 14);
  ExpectOpenError(WriteTemp("q6_k.gguf", bytes), "", {"'blk.0.attn_q.weight'", "Q6_K"});
}

TEST_F(GgufErrorsTest, ShapeInconsistentWithConfig) {
  Bytes bytes = gguf_;
  Poke<uint32_t>(bytes, After(bytes, "llama.feed_forward_length") + 4, 176);
  ExpectOpenError(WriteTemp("hidden.gguf", bytes), "",
                  {"'blk.0.ffn_gate.weight' has shape [64, 172], expected [64, 176]"});
  bytes = gguf_;
  Poke<uint32_t>(bytes, After(bytes, "llama.attention.head_count_kv") + 4, 8);
  ExpectOpenError(WriteTemp("kv_heads.gguf", bytes), "",
                  {"'blk.0.attn_k.weight' has shape [64, 32], expected [64, 64]"});
  bytes = gguf_;
  Poke<uint32_t>(bytes, After(bytes, "llama.attention.head_count_kv") + 4, 3);
  ExpectOpenError(WriteTemp("kv_divide.gguf", bytes), "", {"kv heads (3) do not divide heads (8)"});
}

TEST_F(GgufErrorsTest, MissingTensorAndMetadata) {
  Bytes bytes = gguf_;
  const size_t name = After(bytes, "blk.3.attn_v.weight") - std::strlen(".weight") - 1;
  bytes[name] = 'x';  // blk.3.attn_x.weight
  ExpectOpenError(WriteTemp("missing_tensor.gguf", bytes), "",
                  {"missing tensor 'blk.3.attn_v.weight'"});
  bytes = gguf_;
  bytes[After(bytes, "llama.block_coun") - 1] = 'X';  // llama.block_couXt
  ExpectOpenError(WriteTemp("missing_key.gguf", bytes), "",
                  {"missing metadata 'llama.block_count'"});
  bytes = gguf_;
  std::memcpy(bytes.data() + After(bytes, "general.architecture") + 4 + 8, "mamba", 5);
  ExpectOpenError(WriteTemp("mamba.gguf", bytes), "", {"architecture 'mamba' is not supported"});
}

TEST_F(GgufErrorsTest, DataPastTheEndOfTheFile) {
  Bytes bytes = gguf_;
  Poke<uint64_t>(bytes, OffsetField("blk.4.ffn_up.weight"), uint64_t{1} << 40);
  ExpectOpenError(WriteTemp("offset.gguf", bytes), "",
                  {"'blk.4.ffn_up.weight' data", "past the end of the file"});
  Poke<uint64_t>(bytes, OffsetField("blk.4.ffn_up.weight"), 3);
  ExpectOpenError(WriteTemp("misaligned.gguf", bytes), "", {"not a multiple of the alignment"});
}

// A small well-formed GGUF built with the writer, for mutation.
Bytes SmallGguf() {
  ModelConfig config{.name = "small",
                     .dim = 32,
                     .hidden_dim = 32,
                     .n_layers = 1,
                     .n_heads = 2,
                     .n_kv_heads = 1,
                     .vocab_size = 4,
                     .context_length = 8,
                     .rms_norm_eps = 1e-5f,
                     .rope_theta = 10000.0f};
  Vocabulary vocab;
  vocab.pieces = {"<unk>", "<s>", "</s>", " a"};
  vocab.scores = {0, 0, 0, -1};
  vocab.kinds = {TokenKind::kUnknown, TokenKind::kControl, TokenKind::kControl, TokenKind::kNormal};
  std::vector<GgufTensorSpec> specs;
  for (LlamaTensorShape& shape : LlamaTensorShapes(config, true)) {
    specs.push_back({shape.name, shape.shape, StorageType(TensorType::kQ8_0, shape.shape)});
  }
  const std::string path = testing::TempDir() + "/small.gguf";
  auto writer = GgufWriter::Create(path, config, vocab, specs, std::string("template"));
  EXPECT_TRUE(writer.ok());
  if (!writer.ok()) return {};
  for (const GgufTensorSpec& spec : specs) {
    std::vector<float> values(spec.shape.size() == 1 ? 32 : 32 * spec.shape[1], 0.5f);
    EXPECT_TRUE((*writer)->WriteRows(values).ok());
  }
  EXPECT_TRUE((*writer)->Finish().ok());
  return ReadAll(path);
}

TEST(ModelErrorsTest, MutatedGgufNeverCrashes) {
  const Bytes original = SmallGguf();
  ASSERT_GT(original.size(), 1000u);
  ASSERT_TRUE(ModelFile::Open(WriteTemp("small_ok.gguf", original)).ok());
  std::mt19937 rng(1234);
  int failures = 0;
  for (int i = 0; i < 1500; ++i) {
    Bytes bytes = original;
    const int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) {
      // Mostly the header, where the structure is.
      const size_t at =
          rng() % (rng() % 4 == 0 ? bytes.size() : std::min<size_t>(bytes.size(), 1200));
      bytes[at] = rng() % 4 == 0 ? 0xff : static_cast<uint8_t>(rng());
    }
    if (rng() % 8 == 0) bytes.resize(rng() % bytes.size());
    const std::string path = WriteTemp("mutated.gguf", bytes);
    absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(path);
    if (!model.ok()) {
      ++failures;
      ASSERT_THAT(model.status().message(), HasSubstr(path));
    }
  }
  EXPECT_GT(failures, 100);  // the mutations do reach the parser
}

TEST(ModelErrorsTest, GarbageBytesNeverOpen) {
  std::mt19937 rng(99);
  for (int i = 0; i < 300; ++i) {
    Bytes bytes(rng() % 5000);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    if (i % 3 == 0 && bytes.size() >= 4) std::memcpy(bytes.data(), "GGUF", 4);
    if (i % 3 == 1 && bytes.size() >= 8) Poke<uint32_t>(bytes, 4, 3);
    const bool gguf_name = i % 2 == 0;
    const std::string path = WriteTemp(gguf_name ? "garbage.gguf" : "garbage.bin", bytes);
    absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(path, kTok512);
    ASSERT_FALSE(model.ok()) << i;
    ASSERT_THAT(model.status().message(), HasSubstr(path));
    // Garbage as a tokenizer file fails naming that file.
    if (!bytes.empty() && i % 5 == 0) {
      const std::string tokenizer = WriteTemp("garbage_tokenizer.bin", bytes);
      model = ModelFile::Open(kStoriesBin, tokenizer);
      ASSERT_FALSE(model.ok()) << i;
      ASSERT_THAT(model.status().message(), HasSubstr(tokenizer));
    }
  }
}

TEST(ModelErrorsTest, NestedArraysParseAndTooDeepNestingFails) {
  // A GGUF with no tensors and one key: an array of `depth` nested arrays around strings.
  auto make = [](int depth) {
    Bytes b = {'G', 'G', 'U', 'F'};
    auto put = [&b](auto value) {
      const uint8_t* p = reinterpret_cast<const uint8_t*>(&value);
      b.insert(b.end(), p, p + sizeof value);
    };
    put(uint32_t{3});
    put(uint64_t{0});  // tensors
    put(uint64_t{1});  // metadata
    put(uint64_t{6});
    b.insert(b.end(), {'n', 'e', 's', 't', 'e', 'd'});
    put(uint32_t{9});  // array
    for (int d = 0; d < depth; ++d) {
      put(uint32_t{9});
      put(uint64_t{1});
    }
    put(uint32_t{8});  // of strings
    put(uint64_t{2});
    put(uint64_t{2});
    b.insert(b.end(), {'h', 'i'});
    put(uint64_t{0});
    return b;
  };
  const Bytes shallow = make(3);
  absl::StatusOr<GgufFile> parsed = GgufFile::Parse("shallow", shallow);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Keys(), std::vector<std::string>{"nested"});
  EXPECT_THAT(std::string(parsed->GetStringArray("nested").status().message()),
              HasSubstr("array of array"));
  const Bytes deep = make(100);
  absl::Status status = GgufFile::Parse("deep", deep).status();
  EXPECT_THAT(status.message(), HasSubstr("deep: metadata 'nested': arrays nested too deeply"));
  // A model needs more than metadata.
  ExpectOpenError(WriteTemp("nested.gguf", shallow), "",
                  {"missing metadata 'general.architecture'"});
}

TEST(Llama2cErrorsTest, SizeMustMatchTheHeader) {
  const Bytes bin = ReadAll(kStoriesBin);
  ASSERT_EQ(bin.size(), 1056540u);
  ExpectOpenError(
      WriteTemp("short.bin", Bytes(bin.begin(), bin.end() - 100)), kTok512,
      {"tensor sizes do not match the header", "expected 1056540 bytes", "actual 1056440 bytes"});
  Bytes longer = bin;
  longer.resize(bin.size() + 4);
  ExpectOpenError(WriteTemp("long.bin", longer), kTok512,
                  {"tensor sizes do not match the header", "actual 1056544 bytes"});
  ExpectOpenError(WriteTemp("header.bin", Bytes(bin.begin(), bin.begin() + 20)), kTok512,
                  {"28-byte header"});
  ExpectOpenError(WriteTemp("empty.bin", Bytes()), kTok512, {"28-byte header"});
}

TEST(Llama2cErrorsTest, HeaderSanity) {
  const Bytes bin = ReadAll(kStoriesBin);
  Bytes bytes = bin;
  Poke<int32_t>(bytes, 12, 7);  // n_heads
  ExpectOpenError(WriteTemp("heads.bin", bytes), kTok512, {"heads (7) do not divide dim (64)"});
  bytes = bin;
  Poke<int32_t>(bytes, 16, 3);  // n_kv_heads
  ExpectOpenError(WriteTemp("kv.bin", bytes), kTok512, {"kv heads (3) do not divide heads (8)"});
  bytes = bin;
  Poke<int32_t>(bytes, 0, -64);  // dim
  ExpectOpenError(WriteTemp("dim.bin", bytes), kTok512, {"must be positive"});
  bytes = bin;
  Poke<int32_t>(bytes, 20, INT32_MIN);  // vocab_size
  ExpectOpenError(WriteTemp("vocab.bin", bytes), kTok512, {"llama2.c"});
  bytes = bin;
  Poke<int32_t>(bytes, 0, 4);  // dim 4, heads 4: head dim 1
  Poke<int32_t>(bytes, 12, 4);
  ExpectOpenError(WriteTemp("odd.bin", bytes), kTok512, {"head dim 1 is odd"});
  bytes = bin;
  Poke<int32_t>(bytes, 0, 1024);  // dim 1024, 2 heads and kv heads: head dim 512
  Poke<int32_t>(bytes, 12, 2);
  Poke<int32_t>(bytes, 16, 2);
  ExpectOpenError(WriteTemp("wide.bin", bytes), kTok512,
                  {"head dim 512 exceeds the attention kernel's 256"});
  bytes = bin;
  Poke<int32_t>(bytes, 0, 1 << 30);  // dim: sizes overflow nothing, but mismatch
  Poke<int32_t>(bytes, 4, 1 << 30);
  Poke<int32_t>(bytes, 12, 1 << 23);  // heads: head dim 128
  ExpectOpenError(WriteTemp("huge.bin", bytes), kTok512, {"tensor sizes do not match"});
}

TEST(Llama2cErrorsTest, Tokenizer) {
  ExpectOpenError(kStoriesBin, "", {"tokenizer path is missing"});
  // A tokenizer of another size.
  absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(kStoriesBin, kLlamaTokenizer);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr(kStoriesBin));
  EXPECT_THAT(model.status().message(), HasSubstr(kLlamaTokenizer));
  EXPECT_THAT(model.status().message(),
              HasSubstr("vocabulary size mismatch: the checkpoint has vocab_size 512"));
  EXPECT_THAT(model.status().message(), HasSubstr("has 32000 pieces"));
  // A missing tokenizer file.
  const std::string absent = testing::TempDir() + "/absent_tokenizer.bin";
  model = ModelFile::Open(kStoriesBin, absent);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr(absent));
  // Truncated tokenizers: inside a piece's bytes and inside its score.
  const Bytes tok = ReadAll(kTok512);
  for (size_t cut : {tok.size() - 1, tok.size() - 9, size_t{2}}) {
    const std::string path =
        WriteTemp("tok_cut_" + std::to_string(cut) + ".bin", Bytes(tok.begin(), tok.begin() + cut));
    absl::StatusOr<Vocabulary> vocab = ReadLlama2cTokenizer(path);
    ASSERT_FALSE(vocab.ok()) << cut;
    EXPECT_THAT(vocab.status().message(), HasSubstr(path));
    EXPECT_THAT(vocab.status().message(),
                ::testing::AnyOf(HasSubstr("truncated"), HasSubstr("corrupt")));
  }
  // One piece short of the checkpoint's 512: a size mismatch.
  const size_t last_piece = tok.size() - 8 - 3;  // tok512's last piece is 3 bytes long
  ASSERT_EQ(tok[last_piece + 4], 3);
  const std::string short_tok =
      WriteTemp("tok511.bin", Bytes(tok.begin(), tok.begin() + last_piece));
  ExpectOpenError(kStoriesBin, short_tok, {"vocab_size 512", "has 511 pieces"});
}

TEST(ModelErrorsTest, MissingFilesAndDirectories) {
  const std::string absent = testing::TempDir() + "/absent_model.gguf";
  absl::StatusOr<std::unique_ptr<ModelFile>> model = ModelFile::Open(absent);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr(absent));
  ExpectOpenError(testing::TempDir(), kTok512, {"not a regular file"});
}

}  // namespace
}  // namespace fabric
