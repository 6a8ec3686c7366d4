// matvec_q8_0: out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every
// token t of a decode batch, Q8_0 weights and Q8_0 activations.
// The decode hot path, tuned for the decode bitstream: every weight byte is read exactly once
// per launch (per kMaxDecodeTokens tokens), past the batch's few activation vectors held on
// chip, so the kernel runs at memory speed as long as the dot products (kernels/dot.h) keep up.
// matmul_q8_0 (the prefill kernel) shares those dot products, so their outputs are bit-identical.
#include <algorithm>
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"

extern "C" void matvec_q8_0(const fabric::BlockQ8_0* w, const fabric::BlockQ8_0* x, float* out,
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
  // On chip, each group's blocks x_group are first burst into a buffer x_buf[64][n_in / 32]
  // (ARRAY_PARTITION complete on the 32 quants of a block, one block per cycle); on
  // the CPU they are simply cache-resident (64 tokens of 4096 are 272 KB).
  const int n_blocks = n_in / fabric::kQ8BlockSize;
  for (int t0 = 0; t0 < n_tokens; t0 += fabric::kMaxDecodeTokens) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=1
    const int group = std::min(n_tokens - t0, fabric::kMaxDecodeTokens);
    // x_group: [group, n_in / 32], out_group: [group, n_out]
    const fabric::BlockQ8_0* x_group = x + static_cast<int64_t>(t0) * n_blocks;
    float* out_group = out + static_cast<int64_t>(t0) * n_out;
    for (int r = begin; r < end; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=64 max=32000
      // One burst read of the row from its HBM channel, then its dot products with the tokens.
      fabric::DotQ8_0Tokens(w + static_cast<int64_t>(r) * n_blocks, x_group, n_blocks, group,
                            out_group + r, n_out);
    }
  }
}
