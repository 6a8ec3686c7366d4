#include "model/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <queue>
#include <string>

namespace fabric {
namespace {

// llama2.c only merges pairs whose score beats this starting value (strict `>`).
constexpr float kNoMerge = -1e10f;

// One candidate merge of two adjacent symbols. Stale candidates (a side changed since the
// push) are skipped when popped.
struct Candidate {
  float score;
  int left;  // index into the symbol list, also the left symbol's original position
  int right;
  int merged;  // the id of the merged piece
  int left_id;
  int right_id;
};

// Highest score first; among equal scores the leftmost pair, as llama2.c's scan picks.
struct Worse {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.left > b.left;
  }
};

std::string BytePiece(uint8_t byte) {
  char piece[8];
  std::snprintf(piece, sizeof piece, "<0x%02X>", byte);
  return piece;
}

// The byte of a "<0xHH>" piece, or -1.
int ParseBytePiece(const std::string& piece) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  const int high = digit(piece[3]), low = digit(piece[4]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

// Stands in for a byte the vocabulary has no piece for: its first unknown token, else 0.
int UnknownId(const Vocabulary& vocabulary) {
  for (int id = 0; id < vocabulary.size(); ++id) {
    if (static_cast<size_t>(id) < vocabulary.kinds.size() &&
        vocabulary.kinds[id] == TokenKind::kUnknown) {
      return id;
    }
  }
  return 0;
}

}  // namespace

Tokenizer::Tokenizer(const Vocabulary& vocabulary) : vocabulary_(vocabulary) {
  ids_.reserve(vocabulary_.pieces.size());
  // The first of duplicate pieces wins.
  for (int id = 0; id < vocabulary_.size(); ++id) ids_.emplace(vocabulary_.pieces[id], id);
}

namespace {

using PieceIds = std::unordered_map<std::string, int>;

// The dummy-prefix piece " " and one piece per UTF-8 codepoint of `text` (a non-continuation
// byte starts one; at most 4 bytes each), or one byte piece per byte when the codepoint is
// not a piece.
std::vector<int> InitialSymbols(const Vocabulary& vocabulary, const PieceIds& ids,
                                std::string_view text, bool dummy_prefix) {
  std::vector<int> symbols;
  std::string prefixed;
  if (dummy_prefix && !text.empty()) {
    auto space = ids.find(" ");
    if (space != ids.end()) {
      symbols.push_back(space->second);
    } else {
      prefixed = std::string(" ").append(text);
      text = prefixed;
    }
  }
  std::string codepoint;
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t byte = static_cast<uint8_t>(text[i]);
    if ((byte & 0xC0) != 0x80) codepoint.clear();
    codepoint.push_back(static_cast<char>(byte));
    const bool continues =
        i + 1 < text.size() && (static_cast<uint8_t>(text[i + 1]) & 0xC0) == 0x80;
    if (continues && codepoint.size() < 4) continue;
    if (auto it = ids.find(codepoint); it != ids.end()) {
      symbols.push_back(it->second);
    } else {
      for (char c : codepoint) {
        auto byte_id = ids.find(BytePiece(static_cast<uint8_t>(c)));
        symbols.push_back(byte_id != ids.end() ? byte_id->second : UnknownId(vocabulary));
      }
    }
    codepoint.clear();
  }
  return symbols;
}

// Greedy merging over a linked list of symbols with a priority queue of candidate pairs.
// Every adjacent pair that merges has an entry; stale entries are skipped when popped. So
// each merge is exactly the pair llama2.c's full scan picks (best score, leftmost on ties),
// in O(n log n) instead of O(n^2). Appends the result to `out`.
void MergeSymbols(const Vocabulary& vocabulary, const PieceIds& ids, std::vector<int> symbols,
                  std::vector<int>& out) {
  const int n = static_cast<int>(symbols.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, Worse> queue;
  std::string joined;
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int a = symbols[left], b = symbols[right];
    if (a < 0 || a >= vocabulary.size() || b < 0 || b >= vocabulary.size()) return;
    joined.assign(vocabulary.pieces[a]).append(vocabulary.pieces[b]);
    auto it = ids.find(joined);
    if (it == ids.end() || static_cast<size_t>(it->second) >= vocabulary.scores.size()) return;
    const float score = vocabulary.scores[it->second];
    if (!(score > kNoMerge)) return;
    queue.push({score, left, right, it->second, a, b});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i, i + 1);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    if (next[c.left] != c.right || symbols[c.left] != c.left_id || symbols[c.right] != c.right_id) {
      continue;  // stale: one side was merged away or changed
    }
    symbols[c.left] = c.merged;
    symbols[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    consider(prev[c.left], c.left);
    consider(c.left, next[c.left]);
  }
  for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push_back(symbols[i]);
}

}  // namespace

// llama2.c's encode(): BOS, the dummy prefix, codepoints or bytes, then greedy merges by
// score. (llama2.c also scans the pair (BOS, first piece); no real vocabulary has a piece
// starting with BOS's text, so BOS is kept out of the merges here.)
std::vector<int> Tokenizer::Encode(std::string_view text, bool add_bos) const {
  std::vector<int> tokens;
  if (add_bos) tokens.push_back(vocabulary_.bos_id);
  MergeSymbols(vocabulary_, ids_, InitialSymbols(vocabulary_, ids_, text, true), tokens);
  return tokens;
}

std::vector<int> Tokenizer::EncodeContinuation(std::string_view text) const {
  std::vector<int> tokens;
  MergeSymbols(vocabulary_, ids_, InitialSymbols(vocabulary_, ids_, text, false), tokens);
  return tokens;
}

std::optional<int> Tokenizer::FindPiece(const std::string& piece) const {
  auto it = ids_.find(piece);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string Tokenizer::Decode(int previous, int token) const {
  if (token < 0 || token >= vocabulary_.size()) return "";
  const std::string& piece = vocabulary_.pieces[token];
  const TokenKind kind = static_cast<size_t>(token) < vocabulary_.kinds.size()
                             ? vocabulary_.kinds[token]
                             : TokenKind::kNormal;
  if (kind == TokenKind::kControl || kind == TokenKind::kUnknown) return "";
  if (kind == TokenKind::kByte) {
    const int byte = ParseBytePiece(piece);
    if (byte >= 0) return std::string(1, static_cast<char>(byte));
  }
  if (previous == vocabulary_.bos_id && !piece.empty() && piece[0] == ' ') {
    return piece.substr(1);
  }
  return piece;
}

}  // namespace fabric
