// matmul_f32: out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every
// token t (prefill). Weight rows are the outer loop, so each row is read from memory once per
// launch and reused from cache (on chip: a row buffer) for every token. Each element is
// exactly matvec_f32's DotF32, so results do not depend on n_tokens.
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
  for (int r = begin; r < end; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=64 max=32000
    const float* w_row = w + static_cast<int64_t>(r) * n_in;
    for (int t = 0; t < n_tokens; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
      out[static_cast<int64_t>(t) * n_out + r] =
          fabric::DotF32(w_row, x + static_cast<int64_t>(t) * n_in, n_in);
    }
  }
}
