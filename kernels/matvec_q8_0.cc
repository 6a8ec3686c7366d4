// matvec_q8_0: out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every
// token t of a decode batch, Q8_0 weights and Q8_0 activations.
// The decode hot path, tuned for the decode bitstream: every weight byte is read exactly once
// per launch (per kMaxDecodeTokens tokens), past the batch's few activation vectors held on
// chip, so the kernel runs at memory speed as long as DotQ8_0 (kernels/dot.h) keeps up.
// matmul_q8_0 (the prefill kernel) shares that dot product, so their outputs are bit-identical.
#include <algorithm>
#include <cstdint>

#include "kernels/dot.h"
#include "kernels/formats.h"
#include "kernels/kernel_signatures.h"
#include "kernels/kernels.h"

namespace {

// out_r[t * n_out] for tokens t in [t_first, t_first + N): one weight row's dot products with
// N activation rows of x_group ([*, n_blocks] blocks), the row's blocks loaded once.
template <int N>
inline void TokenDots(const fabric::BlockQ8_0* w_row, const fabric::BlockQ8_0* x_group,
                      int n_blocks, int t_first, float* out_r, int n_out) {
  float dots[N];
#pragma HLS ARRAY_PARTITION variable=dots complete
  fabric::DotQ8_0Multi<N>(w_row, x_group + static_cast<int64_t>(t_first) * n_blocks, n_blocks,
                          n_blocks, dots);
  for (int k = 0; k < N; ++k) {
#pragma HLS UNROLL
    out_r[static_cast<int64_t>(t_first + k) * n_out] = dots[k];
  }
}

}  // namespace

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
  // (ARRAY_PARTITION complete on the 32 quants of a block, one DotQ8_0 block per cycle); on
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
      const fabric::BlockQ8_0* w_row = w + static_cast<int64_t>(r) * n_blocks;
      if (group == 1) {
        // The one-token step, written out: g++ then hoists the test out of the row loop and
        // compiles this into the plain GEMV loop. DotQ8_0Multi<1> rather than DotQ8_0: next to
        // the DotQ8_0Multi calls below, g++ 12 does not vectorize an inlined DotQ8_0 here.
        TokenDots<1>(w_row, x_group, n_blocks, 0, out_group + r, n_out);
        continue;
      }
      // The group's tokens kDotMultiTokens at a time (each weight block is loaded once per
      // DotQ8_0Multi), the remainder by the same helper with fewer tokens: every output is
      // computed exactly as DotQ8_0 computes it.
      float* out_r = out_group + r;
      int t = 0;
      for (; t + fabric::kDotMultiTokens <= group; t += fabric::kDotMultiTokens) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=16
        TokenDots<fabric::kDotMultiTokens>(w_row, x_group, n_blocks, t, out_r, n_out);
      }
      static_assert(fabric::kDotMultiTokens == 4, "the remainder cases below cover 1 to 3");
      switch (group - t) {
        case 3: TokenDots<3>(w_row, x_group, n_blocks, t, out_r, n_out); break;
        case 2: TokenDots<2>(w_row, x_group, n_blocks, t, out_r, n_out); break;
        case 1: TokenDots<1>(w_row, x_group, n_blocks, t, out_r, n_out); break;
        default: break;
      }
    }
  }
}
