// The feed-forward half of a fused decode layer, shared by decode_ffn_f32 and decode_ffn_q8_0
// (W: the weight format). For decode tokens t in [begin, end):
//   normed = rmsnorm(x[t]); hidden = swiglu(w_gate · normed, w_up · normed);
//   projected = w_down · hidden
// and then x[t] += projected when `residual` is set, else out[t] = projected (a partial for
// the tensor-parallel all-reduce), as decode_attention_block.h. The intermediates stay in
// on-chip buffers; the operators are the per-operator kernels, so the result is bit-identical.
#ifndef FABRIC_KERNELS_DECODE_FFN_BLOCK_H_
#define FABRIC_KERNELS_DECODE_FFN_BLOCK_H_

#include <algorithm>
#include <cstdint>

#include "kernels/decode_product.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"
#include "kernels/onchip_buffer.h"

namespace fabric {

template <typename W>
void DecodeFfnBlock(float* x, const float* norm, const W* w_gate, const W* w_up, const W* w_down,
                    float* out, int dim, int hidden_dim, float eps, int residual, int begin,
                    int end) {
  // x, out: [tokens, dim]; per group of n tokens: gate, up, hidden: [n, hidden_dim]
  float* const result_rows = residual ? x : out;
  if (!FitsFusedDecode(dim, /*q_dim=*/0, /*kv_dim=*/0, hidden_dim)) {
    FillNaNRows(result_rows, dim, begin, end);
    return;
  }
  constexpr int kTokens = kFusedDecodeTokens;
  FABRIC_ONCHIP_BUFFER(float, normed, kTokens* kMaxFusedWidth);
  FABRIC_ONCHIP_BUFFER(BlockQ8_0, normed_q8, kTokens * QuantizedBlocks<W>(kMaxFusedWidth));
  FABRIC_ONCHIP_BUFFER(float, gate, kTokens* kMaxFusedHidden);
  FABRIC_ONCHIP_BUFFER(float, up, kTokens* kMaxFusedHidden);
  FABRIC_ONCHIP_BUFFER(float, hidden, kTokens* kMaxFusedHidden);
  FABRIC_ONCHIP_BUFFER(BlockQ8_0, hidden_q8, kTokens * QuantizedBlocks<W>(kMaxFusedHidden));
  FABRIC_ONCHIP_BUFFER(float, projected, kTokens* kMaxFusedWidth);
  for (int t0 = begin; t0 < end; t0 += kTokens) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=4
    const int n = std::min(kTokens, end - t0);
    float* x_group = x + int64_t(t0) * dim;
    rmsnorm(x_group, norm, normed, dim, eps, 0, n);
    QuantizeForProducts<W>(normed, normed_q8, dim, n);
    DecodeProduct<W>(w_gate, normed, normed_q8, gate, n, dim, hidden_dim);
    DecodeProduct<W>(w_up, normed, normed_q8, up, n, dim, hidden_dim);
    swiglu(gate, up, hidden, 0, n * hidden_dim);
    QuantizeForProducts<W>(hidden, hidden_q8, hidden_dim, n);
    if (residual) {
      DecodeProduct<W>(w_down, hidden, hidden_q8, projected, n, hidden_dim, dim);
      residual_add(x_group, projected, 0, n * dim);
    } else {
      DecodeProduct<W>(w_down, hidden, hidden_q8, out + int64_t(t0) * dim, n, hidden_dim, dim);
    }
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_DECODE_FFN_BLOCK_H_
