// A SentencePiece-style vocabulary: pieces with merge scores and special ids.
#ifndef FABRIC_MODEL_VOCABULARY_H_
#define FABRIC_MODEL_VOCABULARY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fabric {

// GGUF's tokenizer.ggml.token_type values.
enum class TokenKind : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Pieces are stored with plain spaces (SentencePiece's U+2581 is converted on load), and byte
// pieces keep their "<0xAB>" spelling with kind kByte.
struct Vocabulary {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenKind> kinds;
  int bos_id = 1;
  int eos_id = 2;
  bool add_bos = true;

  int size() const { return static_cast<int>(pieces.size()); }
};

}  // namespace fabric

#endif  // FABRIC_MODEL_VOCABULARY_H_
