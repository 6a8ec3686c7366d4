// Dot products shared by the matvec_* and matmul_* kernels.
//
// Batch invariance: an output computed by matmul_* (prefill) must be bit-identical to the same
// output computed by matvec_* (decode), whatever the number of tokens, the kernels' loop order
// or the split of a launch's range. Both call these helpers once per output, and their
// arithmetic depends only on the row length:
//   - each of kDotLanes lanes keeps its own float partial sum, updated in element order with
//     an explicit fused multiply-add (std::fma), so the rounding does not depend on whether
//     g++ happens to contract a * b + c in one inlining context and not in another;
//   - the lanes are then added in a fixed pairwise tree (ReduceDotLanes).
//
// Vectorization notes (g++ 12, -O3 -march=native): g++ never reassociates float sums, so the
// fixed lanes are what it vectorizes (the basic-block SLP vectorizer turns the 16 lane updates
// into one AVX-512 operation). SLP is sensitive to the shape of the code; these forms were
// checked to vectorize when inlined into the kernels:
//   - std::fma(x, scale, acc[l]) rather than acc[l] += x * scale (the latter vectorizes in
//     some contexts and not in others, as operand order after canonicalization varies);
//   - chunk pointers (a_chunk[l]) rather than a[i + l], so the loads are provably consecutive;
//   - the lane tree as loops over a variable width: written out with constant indices, the
//     lanes get split into scalars before SLP runs and nothing vectorizes.
//   - in DotQ8_0Multi, `#pragma GCC unroll` on the token loop (see there). matvec_q8_0 calls
//     DotQ8_0Multi<1> for a single token: with both DotQ8_0 and DotQ8_0Multi inlined into it,
//     g++ 12 left its inlined DotQ8_0 scalar (7x slower).
// Re-check throughput (tests/kernels/kernels_throughput_test.cc) after changing the loops.
//
// Plain C++ with no library dependencies, so Vitis HLS can synthesize the kernels including it.
#ifndef FABRIC_KERNELS_DOT_H_
#define FABRIC_KERNELS_DOT_H_

#include <cmath>
#include <cstdint>

#include "kernels/formats.h"

namespace fabric {

// Partial sums kept by DotF32 and DotQ8_0: one AVX-512 register of floats on the CPU, 16
// parallel multiply-adders on chip.
inline constexpr int kDotLanes = 16;
static_assert(kQ8BlockSize == 2 * kDotLanes, "DotQ8_0 folds a block onto the lanes twice");

// Weight rows per tile of the matmul_* (prefill) kernels: on chip, one dot engine per row of
// the tile, all fed the same activation vector.
inline constexpr int kMatmulRowTile = 16;

// Sums the lanes in a fixed order: lane l += lane l + width for width = 8, 4, 2, 1.
// Overwrites acc.
inline float ReduceDotLanes(float acc[kDotLanes]) {
  for (int width = kDotLanes / 2; width > 0; width /= 2) {
#pragma HLS UNROLL
    for (int l = 0; l < width; ++l) {
#pragma HLS UNROLL
      acc[l] += acc[l + width];
    }
  }
  return acc[0];
}

// sum_i a[i] * b[i] for i in [0, n). Element i goes to lane i % kDotLanes.
inline float DotF32(const float* a, const float* b, int n) {
  float acc[kDotLanes] = {};
#pragma HLS ARRAY_PARTITION variable=acc complete
  const int n_chunks = n / kDotLanes;
  for (int c = 0; c < n_chunks; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=1024
    const float* a_chunk = a + c * kDotLanes;
    const float* b_chunk = b + c * kDotLanes;
    for (int l = 0; l < kDotLanes; ++l) {
#pragma HLS UNROLL
      acc[l] = std::fma(a_chunk[l], b_chunk[l], acc[l]);
    }
  }
  const int done = n_chunks * kDotLanes;
  for (int l = 0; l < n - done; ++l) {  // tail: n % kDotLanes elements
#pragma HLS LOOP_TRIPCOUNT min=0 max=15
    acc[l] = std::fma(a[done + l], b[done + l], acc[l]);
  }
  return ReduceDotLanes(acc);
}

// Dot product of n_blocks Q8_0 weight blocks with n_blocks Q8_0 activation blocks, with the
// semantics of llama.cpp's SIMD vec_dot_q8_0_q8_0: int8 products are summed exactly in int32
// within a block, scaled by fp16(w.d) * fp16(x.d) and accumulated in float lanes across
// blocks; the lanes are summed at the end. Lane l of a block holds the exact integer
// w.qs[l] * x.qs[l] + w.qs[l + 16] * x.qs[l + 16], so no per-block horizontal sum is needed.
inline float DotQ8_0(const BlockQ8_0* w, const BlockQ8_0* x, int n_blocks) {
  float acc[kDotLanes] = {};
#pragma HLS ARRAY_PARTITION variable=acc complete
  for (int b = 0; b < n_blocks; ++b) {
    // One block (32 int8 MACs) per cycle; each lane's float add is a loop-carried dependency,
    // so on chip the achieved II is the adder latency unless rows are interleaved.
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=2 max=512
    // Both scales once per block, before the lane loops.
    const float scale = Fp16ToFp32(w[b].d) * Fp16ToFp32(x[b].d);
    int32_t sums[kDotLanes] = {};
    for (int half = 0; half < 2; ++half) {
#pragma HLS UNROLL
      for (int l = 0; l < kDotLanes; ++l) {
#pragma HLS UNROLL
        sums[l] += w[b].qs[half * kDotLanes + l] * x[b].qs[half * kDotLanes + l];
      }
    }
    for (int l = 0; l < kDotLanes; ++l) {
#pragma HLS UNROLL
      acc[l] = std::fma(static_cast<float>(sums[l]), scale, acc[l]);
    }
  }
  return ReduceDotLanes(acc);
}

// Most activation rows DotQ8_0Multi takes at once: the decode kernel's tokens per weight-row
// pass (on chip, one dot engine per token sharing the weight row's stream).
inline constexpr int kDotMultiTokens = 4;

// dots[t] = DotQ8_0(w, x + t * x_stride, n_blocks) for t in [0, N), bit-identical to N calls
// of DotQ8_0: each token keeps its own kDotLanes lanes, updated per block in the same order with
// the same exact int32 lane sums and the same scale fp16(w.d) * fp16(x_t.d), then summed by
// ReduceDotLanes. Each weight block is loaded and sign-extended once for the N tokens, which is
// what makes a decode batch cheaper than N one-token passes (DotQ8_0 is compute-bound).
template <int N>
inline void DotQ8_0Multi(const BlockQ8_0* w, const BlockQ8_0* x, int64_t x_stride, int n_blocks,
                         float dots[N]) {
  float acc[N][kDotLanes] = {};
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
  for (int b = 0; b < n_blocks; ++b) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=2 max=512
    const float w_scale = Fp16ToFp32(w[b].d);
    // g++ must unroll the token loop completely (its body is too large for -O3's own limits):
    // otherwise acc stays in memory and each fma waits on a store and a load. Unrolled, the N
    // tokens' lanes are N AVX-512 registers and their fma chains are independent.
#pragma GCC unroll 16
    for (int t = 0; t < N; ++t) {
#pragma HLS UNROLL
      const BlockQ8_0& xb = x[t * x_stride + b];
      const float scale = w_scale * Fp16ToFp32(xb.d);
      int32_t sums[kDotLanes] = {};
      for (int half = 0; half < 2; ++half) {
#pragma HLS UNROLL
        for (int l = 0; l < kDotLanes; ++l) {
#pragma HLS UNROLL
          sums[l] += w[b].qs[half * kDotLanes + l] * xb.qs[half * kDotLanes + l];
        }
      }
      for (int l = 0; l < kDotLanes; ++l) {
#pragma HLS UNROLL
        acc[t][l] = std::fma(static_cast<float>(sums[l]), scale, acc[t][l]);
      }
    }
  }
  for (int t = 0; t < N; ++t) {
#pragma HLS UNROLL
    dots[t] = ReduceDotLanes(acc[t]);
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_DOT_H_
