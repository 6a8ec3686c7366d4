// Hands out fixed-size KV-cache blocks of one card's cache.
#ifndef FABRIC_MODEL_KV_BLOCK_ALLOCATOR_H_
#define FABRIC_MODEL_KV_BLOCK_ALLOCATOR_H_

#include <vector>

#include "absl/status/status.h"

namespace fabric {

// Not thread-safe: owned by whoever schedules sequences (one thread).
class KvBlockAllocator {
 public:
  KvBlockAllocator(int num_blocks, int block_size);

  int block_size() const { return block_size_; }
  int free_blocks() const { return static_cast<int>(free_.size()); }
  int num_blocks() const { return num_blocks_; }

  // Grows `table` so it covers `tokens` positions; ResourceExhausted when blocks run out
  // (the table is then unchanged).
  absl::Status Reserve(int tokens, std::vector<int>& table);
  // Returns every block of `table` and empties it.
  void Release(std::vector<int>& table);

 private:
  int num_blocks_;
  int block_size_;
  std::vector<int> free_;  // a stack: recently freed blocks are reused first
};

}  // namespace fabric

#endif  // FABRIC_MODEL_KV_BLOCK_ALLOCATOR_H_
