// matmul_q8_0: out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every
// token t, Q8_0 weights and activations. The prefill kernel, tiled like matmul_f32: weight
// rows kMatmulRowTile at a time, each tile reused by every token, kDotMultiTokens tokens per
// pass over a row. Each output is computed by DotQ8_0Tokens (kernels/dot.h), as in
// matvec_q8_0 (the decode kernel), so the two are bit-identical whatever n_tokens.
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/formats.h"
#include "kernels/kernels.h"

extern "C" void matmul_q8_0(const fabric::BlockQ8_0* w, const fabric::BlockQ8_0* x, float* out,
                            int n_tokens, int n_in, int n_out, int begin, int end) {
#pragma HLS INTERFACE m_axi port=w offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=n_tokens
#pragma HLS INTERFACE s_axilite port=n_in
#pragma HLS INTERFACE s_axilite port=n_out
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // w: [n_out, n_in / 32] blocks, x: [n_tokens, n_in / 32] blocks, out: [n_tokens, n_out]
  // On chip, a tile's rows are burst into w_tile[16][n_in / 32] (ARRAY_PARTITION complete on
  // the row dimension: one buffer per dot engine) before its token loop.
  const int n_blocks = n_in / fabric::kQ8BlockSize;
  for (int r0 = begin; r0 < end; r0 += fabric::kMatmulRowTile) {
#pragma HLS LOOP_TRIPCOUNT min=4 max=2000
    for (int i = 0; i < fabric::kMatmulRowTile; ++i) {
#pragma HLS UNROLL
      // kMatmulRowTile dot engines, each streaming every token past its row; the last tile of
      // a range may be partial.
      const int r = r0 + i;
      if (r < end) {
        fabric::DotQ8_0Tokens(w + static_cast<int64_t>(r) * n_blocks, x, n_blocks, n_tokens,
                              out + r, n_out);
      }
    }
  }
}
