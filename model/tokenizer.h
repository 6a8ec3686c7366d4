// SentencePiece-style BPE tokenizer over a Vocabulary, as llama2.c and llama.cpp apply it.
#ifndef FABRIC_MODEL_TOKENIZER_H_
#define FABRIC_MODEL_TOKENIZER_H_

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/vocabulary.h"

namespace fabric {

// Immutable after construction: safe to use from any thread.
class Tokenizer {
 public:
  explicit Tokenizer(const Vocabulary& vocabulary);

  // Encodes UTF-8 text: BOS first when `add_bos`; a leading space is prepended to non-empty
  // text (SentencePiece's dummy prefix); characters missing from the vocabulary fall back to
  // byte pieces; then adjacent pieces merge greedily by best score.
  std::vector<int> Encode(std::string_view text, bool add_bos) const;
  // Encodes text that continues earlier text: no BOS, no dummy prefix.
  std::vector<int> EncodeContinuation(std::string_view text) const;
  // The id of the piece spelled exactly `piece` (e.g. a chat template's special token).
  std::optional<int> FindPiece(const std::string& piece) const;

  // The bytes token `token` contributes to the text after `previous`: control tokens give
  // nothing, byte pieces give their byte, and the leading space after BOS is dropped.
  std::string Decode(int previous, int token) const;

  const Vocabulary& vocabulary() const { return vocabulary_; }

 private:
  const Vocabulary& vocabulary_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace fabric

#endif  // FABRIC_MODEL_TOKENIZER_H_
