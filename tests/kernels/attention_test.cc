// Tests of the attention kernel: paged KV cache through shuffled block tables, several
// sequences at different positions, grouped-query heads, against a double-precision reference
// over contiguous per-sequence keys and values.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"
#include "tests/kernels/kernel_test_util.h"

namespace fabric {
namespace {

using testing::kSentinel;
using testing::RandomFloats;

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Shape {
  int n_heads, n_kv_heads, head_dim, block_size, max_blocks;
  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// A paged cache holding the logical keys and values of several sequences.
// keys[s], values[s]: [length[s], kv_dim], contiguous, what the reference reads.
struct PagedCache {
  std::vector<std::vector<float>> keys, values;
  std::vector<float> k_cache, v_cache;  // [n_pool_blocks * block_size, kv_dim]
  std::vector<int> block_tables;        // [n_seqs, max_blocks]
};

// Lays the sequences out in shuffled physical blocks. Cache rows past a sequence's length
// and table entries past its last block hold NaN / a NaN-filled block, so a kernel that reads
// anything it should not produces NaN.
PagedCache MakePagedCache(const Shape& s, const std::vector<int>& lengths, uint32_t seed) {
  PagedCache cache;
  const int n_seqs = static_cast<int>(lengths.size());
  std::vector<int> blocks_needed(n_seqs);
  int total_blocks = 1;  // block 0 is the poison block
  for (int q = 0; q < n_seqs; ++q) {
    blocks_needed[q] = (lengths[q] + s.block_size - 1) / s.block_size;
    total_blocks += blocks_needed[q];
  }
  total_blocks += 3;  // some blocks belong to nobody
  std::vector<int> pool(total_blocks - 1);
  for (int b = 0; b < total_blocks - 1; ++b) pool[b] = b + 1;
  std::mt19937 rng(seed);
  std::shuffle(pool.begin(), pool.end(), rng);

  const float nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t rows = static_cast<int64_t>(total_blocks) * s.block_size;
  cache.k_cache.assign(rows * s.kv_dim(), nan);
  cache.v_cache.assign(rows * s.kv_dim(), nan);
  cache.block_tables.assign(n_seqs * s.max_blocks, 0);
  int next = 0;
  for (int q = 0; q < n_seqs; ++q) {
    cache.keys.push_back(RandomFloats(lengths[q] * s.kv_dim(), seed + 100 + q, -2.0f, 2.0f));
    cache.values.push_back(RandomFloats(lengths[q] * s.kv_dim(), seed + 200 + q));
    for (int i = 0; i < blocks_needed[q]; ++i) {
      cache.block_tables[q * s.max_blocks + i] = pool[next++];
    }
    for (int p = 0; p < lengths[q]; ++p) {
      const int block = cache.block_tables[q * s.max_blocks + p / s.block_size];
      const int64_t row = static_cast<int64_t>(block) * s.block_size + p % s.block_size;
      std::copy_n(&cache.keys[q][p * s.kv_dim()], s.kv_dim(), &cache.k_cache[row * s.kv_dim()]);
      std::copy_n(&cache.values[q][p * s.kv_dim()], s.kv_dim(), &cache.v_cache[row * s.kv_dim()]);
    }
  }
  return cache;
}

// Attention of one query head over positions 0..pos of contiguous keys / values, in double.
std::vector<double> ReferenceHead(const Shape& s, const float* q_h, const std::vector<float>& keys,
                                  const std::vector<float>& values, int pos, int h) {
  const int kv_head = h / (s.n_heads / s.n_kv_heads);
  std::vector<double> scores(pos + 1);
  for (int p = 0; p <= pos; ++p) {
    double dot = 0.0;
    for (int i = 0; i < s.head_dim; ++i) {
      dot += static_cast<double>(q_h[i]) * keys[p * s.kv_dim() + kv_head * s.head_dim + i];
    }
    scores[p] = dot / std::sqrt(static_cast<double>(s.head_dim));
  }
  const double max_score = *std::max_element(scores.begin(), scores.end());
  double sum = 0.0;
  for (double& x : scores) sum += (x = std::exp(x - max_score));
  std::vector<double> out(s.head_dim, 0.0);
  for (int p = 0; p <= pos; ++p) {
    for (int i = 0; i < s.head_dim; ++i) {
      out[i] += scores[p] / sum * values[p * s.kv_dim() + kv_head * s.head_dim + i];
    }
  }
  return out;
}

class AttentionTest : public ::testing::Test {
 protected:
  // 6 query heads share 2 kv heads; head_dim 24 is not a multiple of the 16 dot lanes.
  const Shape shape_ = {6, 2, 24, 5, 7};
  const std::vector<int> lengths_ = {23, 9, 14};
  // (sequence, position) of each token: decode and prefill tokens mixed, out of order.
  const std::vector<int> token_seqs_ = {0, 1, 2, 0, 1, 0, 2};
  const std::vector<int> positions_ = {22, 0, 13, 3, 8, 11, 5};
  const int n_tokens_ = 7;
  const int n_items_ = 7 * 6;
  PagedCache cache_ = MakePagedCache(shape_, lengths_, 42);
  std::vector<float> q_ = RandomFloats(7 * shape_.q_dim(), 43, -2.0f, 2.0f);

  std::vector<float> Run(int begin, int end) {
    std::vector<float> out(n_tokens_ * shape_.q_dim(), kSentinel);
    attention(q_.data(), cache_.k_cache.data(), cache_.v_cache.data(), cache_.block_tables.data(),
              token_seqs_.data(), positions_.data(), out.data(), shape_.n_heads, shape_.n_kv_heads,
              shape_.head_dim, shape_.block_size, shape_.max_blocks, begin, end);
    return out;
  }
};

TEST_F(AttentionTest, MatchesContiguousReferenceThroughShuffledBlockTables) {
  const std::vector<float> out = Run(0, n_items_);
  for (int t = 0; t < n_tokens_; ++t) {
    const int seq = token_seqs_[t];
    for (int h = 0; h < shape_.n_heads; ++h) {
      const int offset = t * shape_.q_dim() + h * shape_.head_dim;
      const std::vector<double> ref = ReferenceHead(shape_, &q_[offset], cache_.keys[seq],
                                                    cache_.values[seq], positions_[t], h);
      for (int i = 0; i < shape_.head_dim; ++i) {
        // Float rounding is ~1e-7 here; a wrong row, head or position is off by > 1e-2.
        ASSERT_NEAR(out[offset + i], ref[i], 1e-5) << "token " << t << " head " << h << " " << i;
      }
    }
  }
}

TEST_F(AttentionTest, PartialRangeWritesOnlyItsItems) {
  const std::vector<float> whole = Run(0, n_items_);
  const int begin = 8, end = 29;  // starts and ends mid-token
  const std::vector<float> part = Run(begin, end);
  for (int item = 0; item < n_items_; ++item) {
    for (int i = 0; i < shape_.head_dim; ++i) {
      const int index = item * shape_.head_dim + i;  // item t * n_heads + h
      if (item >= begin && item < end) {
        EXPECT_TRUE(SameBits(part[index], whole[index])) << item << "," << i;
      } else {
        EXPECT_EQ(part[index], kSentinel) << item << "," << i;
      }
    }
  }
}

TEST_F(AttentionTest, TokenAloneEqualsTokenInBatch) {
  const std::vector<float> batch = Run(0, n_items_);
  for (int t = 0; t < n_tokens_; ++t) {
    const int q_dim = shape_.q_dim();
    std::vector<float> q(q_.begin() + t * q_dim, q_.begin() + (t + 1) * q_dim);
    std::vector<float> out(q_dim, kSentinel);
    attention(q.data(), cache_.k_cache.data(), cache_.v_cache.data(), cache_.block_tables.data(),
              &token_seqs_[t], &positions_[t], out.data(), shape_.n_heads, shape_.n_kv_heads,
              shape_.head_dim, shape_.block_size, shape_.max_blocks, 0, shape_.n_heads);
    for (int i = 0; i < q_dim; ++i) {
      ASSERT_TRUE(SameBits(out[i], batch[t * q_dim + i])) << t << "," << i;
    }
  }
}

TEST(AttentionLimitsTest, LongestContextUsesTheWholeScoreBuffer) {
  const Shape s = {1, 1, 8, 64, kMaxAttentionContext / 64};
  PagedCache cache = MakePagedCache(s, {kMaxAttentionContext}, 7);
  const std::vector<float> q = RandomFloats(s.q_dim(), 8, -2.0f, 2.0f);
  const int last = kMaxAttentionContext - 1;
  // The last key points along q: its weight is large, so dropping it would show.
  for (int i = 0; i < s.head_dim; ++i) cache.keys[0][last * s.kv_dim() + i] = 3.0f * q[i];
  const int last_block = cache.block_tables[last / s.block_size];
  const int64_t last_row = static_cast<int64_t>(last_block) * s.block_size + last % s.block_size;
  std::copy_n(&cache.keys[0][last * s.kv_dim()], s.kv_dim(), &cache.k_cache[last_row * s.kv_dim()]);
  const std::vector<int> seqs = {0}, positions = {last};
  std::vector<float> out(s.q_dim(), kSentinel);
  attention(q.data(), cache.k_cache.data(), cache.v_cache.data(), cache.block_tables.data(),
            seqs.data(), positions.data(), out.data(), s.n_heads, s.n_kv_heads, s.head_dim,
            s.block_size, s.max_blocks, 0, s.n_heads);
  const std::vector<double> ref =
      ReferenceHead(s, q.data(), cache.keys[0], cache.values[0], last, 0);
  for (int i = 0; i < s.head_dim; ++i) {
    // 8192 float terms: rounding ~1e-5; without the last position the result moves by ~0.1.
    EXPECT_NEAR(out[i], ref[i], 1e-4) << i;
  }
}

TEST(AttentionLimitsTest, PositionBeyondScoreBufferYieldsNaN) {
  const Shape s = {2, 2, 4, 16, 1};
  PagedCache cache = MakePagedCache(s, {3, 3}, 9);
  const std::vector<float> q = RandomFloats(2 * s.q_dim(), 10);
  const std::vector<int> seqs = {0, 1}, positions = {kMaxAttentionContext, 2};
  std::vector<float> out(2 * s.q_dim(), kSentinel);
  attention(q.data(), cache.k_cache.data(), cache.v_cache.data(), cache.block_tables.data(),
            seqs.data(), positions.data(), out.data(), s.n_heads, s.n_kv_heads, s.head_dim,
            s.block_size, s.max_blocks, 0, 2 * s.n_heads);
  for (int i = 0; i < s.q_dim(); ++i) EXPECT_TRUE(std::isnan(out[i])) << i;
  for (int i = s.q_dim(); i < 2 * s.q_dim(); ++i) EXPECT_FALSE(std::isnan(out[i])) << i;
}

}  // namespace
}  // namespace fabric
