#include "model/tokenizer.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/llama2c_reader.h"
#include "model/model_file.h"
#include "tests/model/llama2c_goldens.h"
#include "tests/model/model_test_util.h"

namespace fabric {
namespace {

using ::fabric::testing_util::kLlamaTokenizer;
using ::fabric::testing_util::kStoriesGguf;
using ::fabric::testing_util::kSyntheticDir;
using ::fabric::testing_util::kTok512;
using ::fabric::testing_util::Open;
using ::testing::ElementsAre;

const std::string kGoldens =
    std::string(FABRIC_SOURCE_DIR) + "/tests/model/testdata/stories260K_llama2c_greedy.txt";

Vocabulary LoadTokenizer(const std::string& path) {
  absl::StatusOr<Vocabulary> vocab = ReadLlama2cTokenizer(path);
  EXPECT_TRUE(vocab.ok()) << vocab.status();
  return vocab.ok() ? *std::move(vocab) : Vocabulary{};
}

std::vector<Llama2cGolden> LoadGoldens() {
  absl::StatusOr<std::vector<Llama2cGolden>> goldens = ReadLlama2cGoldens(kGoldens);
  EXPECT_TRUE(goldens.ok()) << goldens.status();
  return goldens.ok() ? *std::move(goldens) : std::vector<Llama2cGolden>{};
}

// Decodes ids the way llama2.c prints them: each token after the previous one.
std::string DecodeAll(const Tokenizer& tokenizer, const std::vector<int>& ids) {
  std::string text;
  for (size_t i = 1; i < ids.size(); ++i) text += tokenizer.Decode(ids[i - 1], ids[i]);
  return text;
}

// llama2.c's encode() transcribed literally: a full scan for the best pair per merge.
class ReferenceEncoder {
 public:
  explicit ReferenceEncoder(const Vocabulary& vocab) : vocab_(vocab) {
    for (int i = 0; i < vocab.size(); ++i) ids_.emplace(vocab.pieces[i], i);
  }
  std::vector<int> Encode(const std::string& text) const;

 private:
  const Vocabulary& vocab_;
  std::map<std::string, int> ids_;
};

std::vector<int> ReferenceEncoder::Encode(const std::string& text) const {
  const Vocabulary& vocab = vocab_;
  const std::map<std::string, int>& ids = ids_;
  std::vector<int> tokens;
  if (!text.empty()) tokens.push_back(ids.at(" "));
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    while (len < 4 && i + len < text.size() && (text[i + len] & 0xC0) == 0x80) ++len;
    const std::string cp = text.substr(i, len);
    if (ids.count(cp)) {
      tokens.push_back(ids.at(cp));
    } else {
      for (char c : cp) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", static_cast<uint8_t>(c));
        tokens.push_back(ids.at(piece));
      }
    }
    i += len;
  }
  while (true) {
    float best = -1e10f;
    int best_id = -1, best_index = -1;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      auto it = ids.find(vocab.pieces[tokens[i]] + vocab.pieces[tokens[i + 1]]);
      if (it != ids.end() && vocab.scores[it->second] > best) {
        best = vocab.scores[it->second];
        best_id = it->second;
        best_index = static_cast<int>(i);
      }
    }
    if (best_index < 0) break;
    tokens[best_index] = best_id;
    tokens.erase(tokens.begin() + best_index + 1);
  }
  tokens.insert(tokens.begin(), vocab.bos_id);
  return tokens;
}

// Random text from vocabulary pieces, ASCII, multi-byte UTF-8 and stray bytes.
std::string RandomText(const Vocabulary& vocab, std::mt19937& rng, int parts) {
  static const char* const kExtras[] = {" ",    "  ",    "\n",       "é",    "ï",   "日本", "🦊",
                                        "\xff", "\x80",  "\xe2\x96", "a",    "The", ",",    "\t",
                                        "   ",  "aaaaa", "eee",      "....", "llll"};
  std::string text;
  for (int i = 0; i < parts; ++i) {
    if (rng() % 3 == 0) {
      text += kExtras[rng() % std::size(kExtras)];
    } else {
      const int id = 3 + rng() % (vocab.size() - 3);
      if (vocab.kinds[id] == TokenKind::kNormal) text += vocab.pieces[id];
    }
  }
  return text;
}

TEST(TokenizerTest, EncodesEveryGoldenPromptLikeLlama2c) {
  const Vocabulary vocab = LoadTokenizer(kTok512);
  const Tokenizer tokenizer(vocab);
  const std::vector<Llama2cGolden> goldens = LoadGoldens();
  ASSERT_EQ(goldens.size(), 16u);
  for (const Llama2cGolden& golden : goldens) {
    EXPECT_EQ(tokenizer.Encode(golden.prompt, /*add_bos=*/true), golden.prompt_ids)
        << "prompt: " << golden.prompt;
  }
}

TEST(TokenizerTest, DecodesEveryGoldenRunToItsRawText) {
  const Vocabulary vocab = LoadTokenizer(kTok512);
  const Tokenizer tokenizer(vocab);
  for (const Llama2cGolden& golden : LoadGoldens()) {
    std::vector<int> ids = golden.prompt_ids;
    ids.insert(ids.end(), golden.gen_ids.begin(), golden.gen_ids.end());
    EXPECT_EQ(DecodeAll(tokenizer, ids), golden.raw_text) << "prompt: " << golden.prompt;
  }
}

TEST(TokenizerTest, KnownEncodings) {
  const Vocabulary vocab = LoadTokenizer(kTok512);
  const Tokenizer tokenizer(vocab);
  EXPECT_THAT(tokenizer.Encode("", true), ElementsAre(1));
  EXPECT_THAT(tokenizer.Encode("", false), ElementsAre());
  EXPECT_THAT(tokenizer.Encode("Once upon a time", false), ElementsAre(403, 407, 261, 378));
  // A lone dummy prefix and byte fallback: "Z" is 469, the two bytes of "ë" are 0xC3 0xAB.
  const std::vector<int> ids = tokenizer.Encode("Zë", true);
  EXPECT_THAT(ids, ElementsAre(1, 410, 469, 0xC3 + 3, 0xAB + 3));
  EXPECT_EQ(DecodeAll(tokenizer, ids), "Z\xC3\xAB");
}

TEST(TokenizerTest, GgufVocabularyTokenizesLikeTok512) {
  const Vocabulary tok512 = LoadTokenizer(kTok512);
  std::unique_ptr<ModelFile> gguf = Open(kStoriesGguf);
  ASSERT_NE(gguf, nullptr);
  const Vocabulary& vocab = gguf->vocabulary();
  ASSERT_EQ(vocab.size(), tok512.size());
  // Pieces agree after U+2581 -> ' ', except the control pieces' spelling.
  for (int id = 3; id < vocab.size(); ++id) {
    ASSERT_EQ(vocab.pieces[id], tok512.pieces[id]) << id;
    ASSERT_EQ(vocab.scores[id], tok512.scores[id]) << id;
    ASSERT_EQ(vocab.kinds[id], tok512.kinds[id]) << id;
  }
  const Tokenizer from_gguf(vocab), from_bin(tok512);
  for (const Llama2cGolden& golden : LoadGoldens()) {
    EXPECT_EQ(from_gguf.Encode(golden.prompt, true), golden.prompt_ids) << golden.prompt;
    std::vector<int> ids = golden.prompt_ids;
    ids.insert(ids.end(), golden.gen_ids.begin(), golden.gen_ids.end());
    EXPECT_EQ(DecodeAll(from_gguf, ids), golden.raw_text) << golden.prompt;
  }
}

TEST(TokenizerTest, MatchesTheFullScanOnRandomText) {
  for (const std::string& path : {kTok512, kLlamaTokenizer}) {
    const Vocabulary vocab = LoadTokenizer(path);
    const Tokenizer tokenizer(vocab);
    const ReferenceEncoder reference(vocab);
    std::mt19937 rng(7);
    for (int i = 0; i < 150; ++i) {
      const std::string text = RandomText(vocab, rng, 1 + i % 40);
      ASSERT_EQ(tokenizer.Encode(text, true), reference.Encode(text)) << path << " text: " << text;
    }
    // One long prompt, where a quadratic merge loop would show.
    const std::string text = RandomText(vocab, rng, 1500);
    EXPECT_EQ(tokenizer.Encode(text, true), reference.Encode(text)) << path;
  }
}

TEST(TokenizerTest, Llama2VocabularyLoadsAndRoundTrips) {
  const Vocabulary vocab = LoadTokenizer(kLlamaTokenizer);
  ASSERT_EQ(vocab.size(), 32000);
  EXPECT_EQ(vocab.kinds[0], TokenKind::kUnknown);
  EXPECT_EQ(vocab.kinds[1], TokenKind::kControl);
  EXPECT_EQ(vocab.kinds[2], TokenKind::kControl);
  for (int id = 3; id < 259; ++id) EXPECT_EQ(vocab.kinds[id], TokenKind::kByte) << id;
  EXPECT_EQ(vocab.kinds[259], TokenKind::kNormal);
  const Tokenizer tokenizer(vocab);
  const std::string text = "Hello world! Ünïcödé and 日本語, tabs\tand\nnewlines 🦊.";
  const std::vector<int> ids = tokenizer.Encode(text, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_LT(ids.size(), text.size());  // merges happened
  EXPECT_EQ(DecodeAll(tokenizer, ids), text);
}

TEST(TokenizerTest, Llama2VocabularyAgreesWithTheGgufCopy) {
  const Vocabulary vocab = LoadTokenizer(kLlamaTokenizer);
  std::unique_ptr<ModelFile> gguf = Open(kSyntheticDir + "tiny-f16.gguf");
  ASSERT_NE(gguf, nullptr);
  const Tokenizer from_bin(vocab), from_gguf(gguf->vocabulary());
  for (const char* text : {"Once upon a time", "  two  spaces", "naïve café ☕", "x<0x41>y"}) {
    EXPECT_EQ(from_gguf.Encode(text, true), from_bin.Encode(text, true)) << text;
  }
}

// A hand-made vocabulary isolates the merge rule.
Vocabulary SmallVocabulary(std::vector<std::pair<std::string, float>> pieces) {
  Vocabulary vocab;
  for (const auto& [piece, score] :
       std::vector<std::pair<std::string, float>>{{"<unk>", 0}, {"<s>", 0}, {"</s>", 0}}) {
    vocab.pieces.push_back(piece);
    vocab.scores.push_back(score);
  }
  vocab.kinds = {TokenKind::kUnknown, TokenKind::kControl, TokenKind::kControl};
  for (const auto& [piece, score] : pieces) {
    vocab.pieces.push_back(piece);
    vocab.scores.push_back(score);
    vocab.kinds.push_back(TokenKind::kNormal);
  }
  return vocab;
}

TEST(TokenizerTest, BestScoreMergesFirstAndLeftmostWinsTies) {
  // ids: 3 " ", 4 "a", 5 "b", 6 "ab", 7 "ba", 8 "aba"
  const Vocabulary vocab =
      SmallVocabulary({{" ", 0}, {"a", 0}, {"b", 0}, {"ab", -2}, {"ba", -1}, {"aba", -5}});
  const Tokenizer tokenizer(vocab);
  // "aba": "ba" (-1) beats "ab" (-2), then "a" + "ba" makes "aba".
  EXPECT_THAT(tokenizer.Encode("aba", false), ElementsAre(3, 8));
  // "abab": pairs ab(-2) ba(-1) ab(-2): "ba" merges first -> a ba b; then "aba"(-5) vs
  // "bab"(absent): a+ba -> aba; then aba+b absent.
  EXPECT_THAT(tokenizer.Encode("abab", false), ElementsAre(3, 8, 5));
  // Equal scores: the leftmost pair merges first.
  const Vocabulary tie = SmallVocabulary({{" ", 0}, {"a", 0}, {"aa", -1}});
  EXPECT_THAT(Tokenizer(tie).Encode("aaa", false), ElementsAre(3, 5, 4));
}

TEST(TokenizerTest, WithoutASpacePieceTheTextGetsALeadingSpace) {
  // No " " piece: the space is prepended to the text, so it becomes the byte piece 0x20.
  Vocabulary vocab = SmallVocabulary({{"<0x20>", 0}, {"a", 0}});
  vocab.kinds[3] = TokenKind::kByte;
  const Tokenizer tokenizer(vocab);
  EXPECT_THAT(tokenizer.Encode("a", true), ElementsAre(1, 3, 4));
  EXPECT_THAT(tokenizer.Encode("", true), ElementsAre(1));
}

TEST(TokenizerTest, MissingBytePiecesBecomeTheUnknownToken) {
  const Vocabulary vocab = SmallVocabulary({{" ", 0}, {"a", 0}});
  EXPECT_THAT(Tokenizer(vocab).Encode("aé", false), ElementsAre(3, 4, 0, 0));
}

TEST(TokenizerTest, DecodeRules) {
  const Vocabulary vocab = LoadTokenizer(kTok512);
  const Tokenizer tokenizer(vocab);
  EXPECT_EQ(tokenizer.Decode(1, 403), "Once");  // " Once" after BOS loses its space
  EXPECT_EQ(tokenizer.Decode(432, 403), " Once");
  EXPECT_EQ(tokenizer.Decode(1, 410), "");        // the lone dummy prefix after BOS
  EXPECT_EQ(tokenizer.Decode(5, 13), "\n");       // <0x0A>
  EXPECT_EQ(tokenizer.Decode(1, 0x20 + 3), " ");  // a byte piece keeps its space
  EXPECT_EQ(tokenizer.Decode(5, 0xC3 + 3), "\xC3");
  EXPECT_EQ(tokenizer.Decode(5, 1), "");  // control
  EXPECT_EQ(tokenizer.Decode(5, 2), "");
  EXPECT_EQ(tokenizer.Decode(5, 0), "");  // unknown
  EXPECT_EQ(tokenizer.Decode(5, -1), "");
  EXPECT_EQ(tokenizer.Decode(5, 512), "");
}

}  // namespace
}  // namespace fabric
