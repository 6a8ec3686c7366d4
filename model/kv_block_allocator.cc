#include "model/kv_block_allocator.h"

#include "absl/strings/str_cat.h"

namespace fabric {

KvBlockAllocator::KvBlockAllocator(int num_blocks, int block_size)
    : num_blocks_(num_blocks), block_size_(block_size) {
  free_.reserve(num_blocks);
  for (int block = num_blocks - 1; block >= 0; --block) free_.push_back(block);
}

absl::Status KvBlockAllocator::Reserve(int tokens, std::vector<int>& table) {
  const int needed = (tokens + block_size_ - 1) / block_size_ - static_cast<int>(table.size());
  if (needed <= 0) return absl::OkStatus();
  if (needed > free_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat("KV cache full: ", tokens,
                                                     " tokens need ", needed, " more blocks, ",
                                                     free_blocks(), " free"));
  }
  for (int i = 0; i < needed; ++i) {
    table.push_back(free_.back());
    free_.pop_back();
  }
  return absl::OkStatus();
}

void KvBlockAllocator::Release(std::vector<int>& table) {
  for (auto it = table.rbegin(); it != table.rend(); ++it) free_.push_back(*it);
  table.clear();
}

}  // namespace fabric
