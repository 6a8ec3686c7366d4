// matvec_f32: out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every
// token t of a decode batch, float weights (small models, the classifier of unquantized
// checkpoints). Tuned like matvec_q8_0 for decode: memory-bound, each weight row streamed once
// past the batch's few activation vectors, which stay on chip. DotF32 (kernels/dot.h) is shared
// with matmul_f32 (the prefill kernel), so the outputs of the two are bit-identical.
#include <algorithm>
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"

extern "C" void matvec_f32(const float* w, const float* x, float* out, int n_tokens, int n_in,
                           int n_out, int begin, int end) {
#pragma HLS INTERFACE m_axi port=w offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=n_tokens
#pragma HLS INTERFACE s_axilite port=n_in
#pragma HLS INTERFACE s_axilite port=n_out
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // w: [n_out, n_in], x: [n_tokens, n_in], out: [n_tokens, n_out]
  // On chip, each group's vectors x_group are first burst into a buffer x_buf[64][n_in]
  // (ARRAY_PARTITION cyclic factor=16 on the element dimension, one DotF32 chunk per cycle);
  // on the CPU they are simply cache-resident. A batch beyond kMaxDecodeTokens streams the
  // weights once per group of that many tokens.
  for (int t0 = 0; t0 < n_tokens; t0 += fabric::kMaxDecodeTokens) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=1
    const int group = std::min(n_tokens - t0, fabric::kMaxDecodeTokens);
    // x_group: [group, n_in], out_group: [group, n_out]
    const float* x_group = x + static_cast<int64_t>(t0) * n_in;
    float* out_group = out + static_cast<int64_t>(t0) * n_out;
    for (int r = begin; r < end; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=64 max=32000
      // One burst read of the row from its HBM channel, then one dot product per token.
      const float* w_row = w + static_cast<int64_t>(r) * n_in;
      if (group == 1) {
        // The one-token step, written out: g++ then hoists the test out of the row loop and
        // compiles this into the plain GEMV loop (about 1% faster than the token loop).
        out_group[r] = fabric::DotF32(w_row, x_group, n_in);
        continue;
      }
      for (int t = 0; t < group; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=2 max=64
        out_group[static_cast<int64_t>(t) * n_out + r] =
            fabric::DotF32(w_row, x_group + static_cast<int64_t>(t) * n_in, n_in);
      }
    }
  }
}
