// matvec_f32: out[r] = dot(w[r, :], x) with float weights (small models, the classifier of
// unquantized checkpoints). Memory-bound like matvec_q8_0; DotF32 (kernels/dot.h) keeps 16
// independent partial sums and is shared with matmul_f32 for bit-identical rows.
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/kernels.h"

extern "C" void matvec_f32(const float* w, const float* x, float* out, int n_in, int begin,
                           int end) {
#pragma HLS INTERFACE m_axi port=w offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=n_in
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // w: [n_out, n_in], x: [n_in], out: [n_out]
  for (int r = begin; r < end; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=64 max=32000
    out[r] = fabric::DotF32(w + static_cast<int64_t>(r) * n_in, x, n_in);
  }
}
