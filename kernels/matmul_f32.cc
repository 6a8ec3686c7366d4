// matmul_f32: out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every
// token t, float weights. The prefill kernel, tuned for many tokens (the prefill bitstream's
// wide GEMM tiles): weight rows are taken kMatmulRowTile at a time and each tile is reused by
// every token, so the activations stream once per tile and the tile's dot products run side
// by side. Each output is exactly DotF32 (kernels/dot.h), as in matvec_f32 (the decode kernel),
// so the two are bit-identical whatever n_tokens.
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/kernels.h"

extern "C" void matmul_f32(const float* w, const float* x, float* out, int n_tokens, int n_in,
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
  // On chip, a tile's rows are burst into w_tile[16][n_in] (ARRAY_PARTITION complete on the
  // row dimension: one buffer per dot engine) before its token loop.
  for (int r0 = begin; r0 < end; r0 += fabric::kMatmulRowTile) {
#pragma HLS LOOP_TRIPCOUNT min=4 max=2000
    for (int t = 0; t < n_tokens; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=16 max=512
      // x[t, :] is read once per tile and fed to all of the tile's rows.
      const float* x_t = x + static_cast<int64_t>(t) * n_in;
      float* out_t = out + static_cast<int64_t>(t) * n_out;
      for (int i = 0; i < fabric::kMatmulRowTile; ++i) {
#pragma HLS UNROLL
        // kMatmulRowTile dot engines; the last tile of a range may be partial.
        const int r = r0 + i;
        if (r < end) out_t[r] = fabric::DotF32(w + static_cast<int64_t>(r) * n_in, x_t, n_in);
      }
    }
  }
}
