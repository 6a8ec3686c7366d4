// matvec_q8_0: out[r] = dot(w[r, :], x) with Q8_0 weights and Q8_0 activations.
// The decode hot path: every weight byte is read exactly once, so the kernel runs at memory
// speed as long as DotQ8_0 (kernels/dot.h) keeps up; matmul_q8_0 shares that dot product, so
// its rows are bit-identical to these.
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/formats.h"
#include "kernels/kernels.h"

extern "C" void matvec_q8_0(const fabric::BlockQ8_0* w, const fabric::BlockQ8_0* x, float* out,
                            int n_in, int begin, int end) {
#pragma HLS INTERFACE m_axi port=w offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=n_in
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // w: [n_out, n_in / 32] blocks, x: [n_in / 32] blocks, out: [n_out]
  const int n_blocks = n_in / fabric::kQ8BlockSize;
  for (int r = begin; r < end; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=64 max=32000
    out[r] = fabric::DotQ8_0(w + static_cast<int64_t>(r) * n_blocks, x, n_blocks);
  }
}
