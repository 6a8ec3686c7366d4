#include "model/kv_block_allocator.h"

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace fabric {
namespace {

TEST(KvBlockAllocatorTest, ReserveGrowsATableToCoverItsPositions) {
  KvBlockAllocator blocks(/*num_blocks=*/8, /*block_size=*/16);
  std::vector<int> table;
  ASSERT_TRUE(blocks.Reserve(1, table).ok());
  EXPECT_EQ(table.size(), 1u);
  ASSERT_TRUE(blocks.Reserve(16, table).ok());  // still one block
  EXPECT_EQ(table.size(), 1u);
  ASSERT_TRUE(blocks.Reserve(17, table).ok());  // one more, the first kept in place
  EXPECT_EQ(table.size(), 2u);
  const int first = table[0];
  ASSERT_TRUE(blocks.Reserve(48, table).ok());
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0], first);
  EXPECT_EQ(blocks.free_blocks(), 5);
}

TEST(KvBlockAllocatorTest, NoBlockIsHandedOutTwice) {
  KvBlockAllocator blocks(8, 4);
  std::vector<std::vector<int>> tables(4);
  for (auto& table : tables) ASSERT_TRUE(blocks.Reserve(8, table).ok());
  std::set<int> seen;
  for (const auto& table : tables) {
    for (int block : table) {
      EXPECT_TRUE(block >= 0 && block < 8) << block;
      EXPECT_TRUE(seen.insert(block).second) << "block " << block << " handed out twice";
    }
  }
  EXPECT_EQ(blocks.free_blocks(), 0);
}

TEST(KvBlockAllocatorTest, RunningOutLeavesTheTableUnchanged) {
  KvBlockAllocator blocks(3, 16);
  std::vector<int> table;
  ASSERT_TRUE(blocks.Reserve(32, table).ok());
  const std::vector<int> before = table;
  EXPECT_EQ(blocks.Reserve(64, table).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(table, before);
  EXPECT_EQ(blocks.free_blocks(), 1);
}

TEST(KvBlockAllocatorTest, ReleasedBlocksReturnAndAreReused) {
  KvBlockAllocator blocks(4, 16);
  std::vector<int> a, b;
  ASSERT_TRUE(blocks.Reserve(64, a).ok());
  EXPECT_FALSE(blocks.Reserve(1, b).ok());
  const std::set<int> freed(a.begin(), a.end());
  blocks.Release(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(blocks.free_blocks(), 4);
  ASSERT_TRUE(blocks.Reserve(64, b).ok());
  EXPECT_EQ(std::set<int>(b.begin(), b.end()), freed);
}

}  // namespace
}  // namespace fabric
