// attention: causal grouped-query attention over the paged KV cache, one work item per
// (token, head): item i = t * n_heads + h for i in [begin, end).
// Token t of sequence token_seqs[t] at position positions[t] attends to its sequence's
// positions p = 0..positions[t]; position p lives in cache row
// block_tables[seq * max_blocks + p / block_size] * block_size + p % block_size.
// With llama2.c's arithmetic: score_p = dot(q_h, k_p) / sqrtf(head_dim); softmax with max
// subtraction (expf, then divide by the sum); out_h = sum_p prob_p * v_p, accumulated in
// order of p. Query head h reads kv head h / (n_heads / n_kv_heads).
// A position outside [0, kMaxAttentionContext) does not fit the score buffer, nor a head_dim
// above kMaxHeadDim the accumulator; that item's output is set to NaN so the error cannot
// pass unnoticed (callers must not launch it).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/dot.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"

namespace {

// scores[r] = dot(q_h, k_r) for the n rows k_r = k + r * kv_dim of one cache block.
// A head narrower than DotF32's lanes (small models) would leave most lanes idle and pay the
// full lane tree per position, so narrow heads take lanes over the block's positions instead:
// each score is then a plain sequential sum over the head, as in llama2.c.
inline void BlockScores(const float* q_h, const float* k, int kv_dim, int head_dim, int n,
                        float* scores) {
  if (head_dim >= fabric::kDotLanes) {
    for (int r = 0; r < n; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16
      scores[r] = fabric::DotF32(q_h, k + static_cast<int64_t>(r) * kv_dim, head_dim);
    }
    return;
  }
  for (int r = 0; r < n; ++r) scores[r] = 0.0f;
  for (int i = 0; i < head_dim; ++i) {
#pragma HLS LOOP_TRIPCOUNT min=2 max=15
    const float q_i = q_h[i];
    for (int r = 0; r < n; ++r) {
#pragma HLS UNROLL factor=16
#pragma HLS LOOP_TRIPCOUNT min=1 max=16
      scores[r] = std::fma(q_i, k[static_cast<int64_t>(r) * kv_dim + i], scores[r]);
    }
  }
}

// In-place softmax of x[0..n), as llama2.c's softmax.
inline void Softmax(float* x, int n) {
  float max_val = x[0];
  for (int p = 1; p < n; ++p) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=8192
    if (x[p] > max_val) max_val = x[p];
  }
  float sum = 0.0f;
  for (int p = 0; p < n; ++p) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=8192
    x[p] = expf(x[p] - max_val);
    sum += x[p];
  }
  for (int p = 0; p < n; ++p) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=8192
    x[p] /= sum;
  }
}

}  // namespace

extern "C" void attention(const float* q, const float* k_cache, const float* v_cache,
                          const int* block_tables, const int* token_seqs, const int* positions,
                          float* out, int n_heads, int n_kv_heads, int head_dim, int block_size,
                          int max_blocks, int begin, int end) {
#pragma HLS INTERFACE m_axi port=q offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=k_cache offset=slave bundle=gmem_kv
#pragma HLS INTERFACE m_axi port=v_cache offset=slave bundle=gmem_kv
#pragma HLS INTERFACE m_axi port=block_tables offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=token_seqs offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=positions offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=n_heads
#pragma HLS INTERFACE s_axilite port=n_kv_heads
#pragma HLS INTERFACE s_axilite port=head_dim
#pragma HLS INTERFACE s_axilite port=block_size
#pragma HLS INTERFACE s_axilite port=max_blocks
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // q, out: [tokens, n_heads * head_dim]; caches: [rows, n_kv_heads * head_dim];
  // block_tables: [seqs, max_blocks]; token_seqs, positions: [tokens]
  const int q_dim = n_heads * head_dim;
  const int kv_dim = n_kv_heads * head_dim;
  const int group = n_heads / n_kv_heads;  // query heads per kv head
  const float score_divisor = sqrtf(static_cast<float>(head_dim));
  float scores[fabric::kMaxAttentionContext];  // on chip: one BRAM/URAM buffer
  for (int item = begin; item < end; ++item) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=4096
    const int t = item / n_heads;
    const int h = item % n_heads;
    const float* q_h = q + static_cast<int64_t>(t) * q_dim + h * head_dim;
    float* out_h = out + static_cast<int64_t>(t) * q_dim + h * head_dim;
    const int n_ctx = positions[t] + 1;
    if (n_ctx < 1 || n_ctx > fabric::kMaxAttentionContext || head_dim > fabric::kMaxHeadDim) {
      for (int i = 0; i < head_dim; ++i) out_h[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const int* table = block_tables + static_cast<int64_t>(token_seqs[t]) * max_blocks;
    const int kv_offset = (h / group) * head_dim;

    // The sequence's positions, block by block: block j holds positions [j * block_size,
    // (j + 1) * block_size) in cache rows from table[j] * block_size (no division per
    // position, and one burst per block on chip).
    const int n_blocks = (n_ctx + block_size - 1) / block_size;

    // scores: [n_ctx], raw dot products first, then one divide per score
    for (int j = 0; j < n_blocks; ++j) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
      const int p0 = j * block_size;
      const int in_block = std::min(block_size, n_ctx - p0);
      const float* k_block =
          k_cache + static_cast<int64_t>(table[j]) * block_size * kv_dim + kv_offset;
      BlockScores(q_h, k_block, kv_dim, head_dim, in_block, scores + p0);
    }
    for (int p = 0; p < n_ctx; ++p) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=8192
      scores[p] /= score_divisor;
    }
    Softmax(scores, n_ctx);

    // acc: [head_dim] = sum_p scores[p] * v_p, in order of p, in an on-chip accumulator
    float acc[fabric::kMaxHeadDim] = {};
#pragma HLS ARRAY_PARTITION variable=acc cyclic factor=16
    for (int j = 0; j < n_blocks; ++j) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
      const int p0 = j * block_size;
      const int in_block = std::min(block_size, n_ctx - p0);
      const float* v_block = v_cache + static_cast<int64_t>(table[j]) * block_size * kv_dim;
      for (int r = 0; r < in_block; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16
        const float* v_p = v_block + static_cast<int64_t>(r) * kv_dim + kv_offset;
        const float a = scores[p0 + r];
        for (int i = 0; i < head_dim; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=32 max=256
          acc[i] += a * v_p[i];
        }
      }
    }
    for (int i = 0; i < head_dim; ++i) out_h[i] = acc[i];
  }
}
