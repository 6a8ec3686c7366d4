// One forward step's input: tokens of one or more sequences, each at its own position.
#ifndef FABRIC_MODEL_BATCH_H_
#define FABRIC_MODEL_BATCH_H_

#include <vector>

namespace fabric {

// A prefill chunk contributes many tokens of one sequence; a decode step one token of each
// running sequence. Sequence s's keys and values live in the KV-cache blocks block_tables[s].
struct Batch {
  std::vector<int> tokens;     // [T] token ids
  std::vector<int> positions;  // [T] position of each token in its sequence
  std::vector<int> sequences;  // [T] index into block_tables
  std::vector<std::vector<int>> block_tables;  // [S][blocks] KV-cache block ids, in order
  std::vector<int> logit_tokens;  // indices into tokens whose next-token logits are wanted

  int size() const { return static_cast<int>(tokens.size()); }

  // Appends token `token` at `position` of sequence `sequence`; `want_logits` asks for its
  // next-token logits.
  void Add(int token, int position, int sequence, bool want_logits) {
    if (want_logits) logit_tokens.push_back(size());
    tokens.push_back(token);
    positions.push_back(position);
    sequences.push_back(sequence);
  }
};

}  // namespace fabric

#endif  // FABRIC_MODEL_BATCH_H_
