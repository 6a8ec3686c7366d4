// The attention half of a fused decode layer, shared by decode_attention_f32 and
// decode_attention_q8_0 (W: the weight format). For decode tokens t in [begin, end), each of a
// different sequence:
//   normed = rmsnorm(x[t]); q, k, v = wq, wk, wv · normed; rope(q, k); k, v -> the paged cache;
//   attended = attention(q, cache); projected = wo · attended
// and then x[t] += projected when `residual` is set (the card holds whole layers), else
// out[t] = projected (this card's partial, for the tensor-parallel all-reduce).
// Every intermediate stays in on-chip buffers ("always-on-chip decode"): only x, the weights
// and the KV cache touch card memory. The operators are the per-operator kernels themselves,
// so the result is bit-identical to launching them one by one.
// Tokens go through in groups of kFusedDecodeTokens, each group streaming the weights once.
// A width beyond the buffers (see kernel_signatures.h) sets the range's output to NaN.
#ifndef FABRIC_KERNELS_DECODE_ATTENTION_BLOCK_H_
#define FABRIC_KERNELS_DECODE_ATTENTION_BLOCK_H_

#include <algorithm>
#include <cstdint>

#include "kernels/decode_product.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"
#include "kernels/onchip_buffer.h"

namespace fabric {

template <typename W>
void DecodeAttentionBlock(float* x, const float* norm, const W* wq, const W* wk, const W* wv,
                          const W* wo, float* k_cache, float* v_cache, const int* block_tables,
                          const int* token_seqs, const int* positions, const int* slots, float* out,
                          int dim, int n_heads, int n_kv_heads, int head_dim, float eps,
                          float theta, int block_size, int max_blocks, int residual, int begin,
                          int end) {
  // x, out: [tokens, dim]; per group of n tokens: q, attended: [n, q_dim]; k, v: [n, kv_dim]
  const int q_dim = n_heads * head_dim;
  const int kv_dim = n_kv_heads * head_dim;
  float* const result_rows = residual ? x : out;
  if (!FitsFusedDecode(dim, q_dim, kv_dim, /*hidden_dim=*/0)) {
    FillNaNRows(result_rows, dim, begin, end);
    return;
  }
  constexpr int kTokens = kFusedDecodeTokens, kWidth = kMaxFusedWidth;
  FABRIC_ONCHIP_BUFFER(float, normed, kTokens* kWidth);
  FABRIC_ONCHIP_BUFFER(BlockQ8_0, normed_q8, kTokens * QuantizedBlocks<W>(kWidth));
  FABRIC_ONCHIP_BUFFER(float, q, kTokens* kWidth);
  FABRIC_ONCHIP_BUFFER(float, k, kTokens* kWidth);
  FABRIC_ONCHIP_BUFFER(float, v, kTokens* kWidth);
  FABRIC_ONCHIP_BUFFER(float, attended, kTokens* kWidth);
  FABRIC_ONCHIP_BUFFER(BlockQ8_0, attended_q8, kTokens * QuantizedBlocks<W>(kWidth));
  FABRIC_ONCHIP_BUFFER(float, projected, kTokens* kWidth);
  for (int t0 = begin; t0 < end; t0 += kTokens) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=4
    const int n = std::min(kTokens, end - t0);
    float* x_group = x + int64_t(t0) * dim;
    rmsnorm(x_group, norm, normed, dim, eps, 0, n);
    QuantizeForProducts<W>(normed, normed_q8, dim, n);
    DecodeProduct<W>(wq, normed, normed_q8, q, n, dim, q_dim);
    DecodeProduct<W>(wk, normed, normed_q8, k, n, dim, kv_dim);
    DecodeProduct<W>(wv, normed, normed_q8, v, n, dim, kv_dim);
    rope(q, k, positions + t0, q_dim, kv_dim, head_dim, theta, 0, n);
    kv_store(k, v, k_cache, v_cache, slots + t0, kv_dim, 0, n);
    attention(q, k_cache, v_cache, block_tables, token_seqs + t0, positions + t0, attended, n_heads,
              n_kv_heads, head_dim, block_size, max_blocks, 0, n * n_heads);
    QuantizeForProducts<W>(attended, attended_q8, q_dim, n);
    if (residual) {
      DecodeProduct<W>(wo, attended, attended_q8, projected, n, q_dim, dim);
      residual_add(x_group, projected, 0, n * dim);
    } else {
      DecodeProduct<W>(wo, attended, attended_q8, out + int64_t(t0) * dim, n, q_dim, dim);
    }
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_DECODE_ATTENTION_BLOCK_H_
