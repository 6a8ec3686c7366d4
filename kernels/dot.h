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
// The Q8_0 product is the exception: g++ vectorizes none of its portable forms well, so the
// CPU build computes the same exact integers with AVX-512 instructions (see DotQ8_0Multi),
// as formats.h converts fp16 with F16C.
// Re-check throughput (tests/kernels/kernels_throughput_test.cc) after changing the loops.
//
// Plain C++ with no library dependencies (the AVX-512 path is not compiled under
// __SYNTHESIS__), so Vitis HLS can synthesize the kernels including it.
#ifndef FABRIC_KERNELS_DOT_H_
#define FABRIC_KERNELS_DOT_H_

#include <cmath>
#include <cstdint>

#include "kernels/formats.h"

#if defined(__AVX512BW__) && !defined(__SYNTHESIS__)
#include <immintrin.h>
#endif

namespace fabric {

// Partial sums kept by DotF32 and the Q8_0 dot products: one AVX-512 register of floats on the CPU, 16
// parallel multiply-adders on chip.
inline constexpr int kDotLanes = 16;
static_assert(kQ8BlockSize == 2 * kDotLanes, "a Q8_0 block is one product pair per lane");

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

// Most activation rows DotQ8_0Multi takes at once: the tokens per weight-row pass of the
// matrix kernels (on chip, one dot engine per token sharing the weight row's stream).
inline constexpr int kDotMultiTokens = 4;

// dots[t] = the dot product of n_blocks Q8_0 weight blocks w with the n_blocks Q8_0
// activation blocks of token t, x + t * x_stride, for t in [0, N). The semantics are those of
// llama.cpp's SIMD vec_dot_q8_0_q8_0: int8 products are summed exactly in int32 within a
// block, scaled by fp16(w.d) * fp16(x_t.d) and accumulated in float lanes across blocks; the
// lanes are summed at the end by ReduceDotLanes. Lane l of a block holds the exact integer
// w.qs[2l] * x.qs[2l] + w.qs[2l + 1] * x.qs[2l + 1], so no per-block horizontal sum is
// needed. Every token's result is bit-identical whatever N, so batching tokens (each weight
// block loaded once for N of them) never changes an output.
// This is the definition, and the HLS datapath; DotQ8_0Multi may compute the same integers
// with other instructions.
template <int N>
inline void DotQ8_0MultiPortable(const BlockQ8_0* w, const BlockQ8_0* x, int64_t x_stride,
                                 int n_blocks, float dots[N]) {
  float acc[N][kDotLanes] = {};
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
  for (int b = 0; b < n_blocks; ++b) {
    // One block (32 int8 MACs per token) per cycle; each lane's float add is a loop-carried
    // dependency, so on chip the achieved II is the adder latency unless rows interleave.
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=2 max=512
    const float w_scale = Fp16ToFp32(w[b].d);
    for (int t = 0; t < N; ++t) {
#pragma HLS UNROLL
      const BlockQ8_0& xb = x[t * x_stride + b];
      const float scale = w_scale * Fp16ToFp32(xb.d);
      for (int l = 0; l < kDotLanes; ++l) {
#pragma HLS UNROLL
        const int32_t sum = w[b].qs[2 * l] * xb.qs[2 * l] + w[b].qs[2 * l + 1] * xb.qs[2 * l + 1];
        acc[t][l] = std::fma(static_cast<float>(sum), scale, acc[t][l]);
      }
    }
  }
  for (int t = 0; t < N; ++t) {
#pragma HLS UNROLL
    dots[t] = ReduceDotLanes(acc[t]);
  }
}

#if defined(__AVX512BW__) && !defined(__SYNTHESIS__)
// The CPU build of DotQ8_0Multi, bit-identical to DotQ8_0MultiPortable: g++ does not find the
// multiply-add-pairs instruction in the portable loops (they ran 5-7x slower). Per block, the
// weights are sign-extended to 16 bits once; per token, vpmaddwd forms exactly the 16 lane
// sums (pairs of int8 products cannot overflow its int32 result), vcvtdq2ps converts them
// with round-to-nearest like static_cast<float>, and vfmadd231ps rounds once like std::fma.
template <int N>
inline void DotQ8_0Multi(const BlockQ8_0* w, const BlockQ8_0* x, int64_t x_stride, int n_blocks,
                         float dots[N]) {
  __m512 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < n_blocks; ++b) {
    const float w_scale = Fp16ToFp32(w[b].d);
    const __m512i w16 =
        _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs)));
#pragma GCC unroll 16
    for (int t = 0; t < N; ++t) {
      const BlockQ8_0& xb = x[t * x_stride + b];
      const __m512i x16 =
          _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs)));
      // The zero-masked form of the conversion, with every lane selected: the plain
      // _mm512_cvtepi32_ps trips g++ 12's -Wmaybe-uninitialized inside its own header.
      const __m512 sums = _mm512_maskz_cvtepi32_ps(0xFFFF, _mm512_madd_epi16(w16, x16));
      acc[t] = _mm512_fmadd_ps(sums, _mm512_set1_ps(w_scale * Fp16ToFp32(xb.d)), acc[t]);
    }
  }
  for (int t = 0; t < N; ++t) {
    float lanes[kDotLanes];
    _mm512_storeu_ps(lanes, acc[t]);
    dots[t] = ReduceDotLanes(lanes);
  }
}
#else
template <int N>
inline void DotQ8_0Multi(const BlockQ8_0* w, const BlockQ8_0* x, int64_t x_stride, int n_blocks,
                         float dots[N]) {
  DotQ8_0MultiPortable<N>(w, x, x_stride, n_blocks, dots);
}
#endif

// out[t * out_stride] = the Q8_0 dot product of w_row with token t of x, for t in
// [0, n_tokens); x: [n_tokens, n_blocks] blocks. The tokens go kDotMultiTokens at a time
// through DotQ8_0Multi (the row's blocks loaded once per pass), the remainder through the same
// helper with fewer tokens: every output is bit-identical whatever n_tokens.
inline void DotQ8_0Tokens(const BlockQ8_0* w_row, const BlockQ8_0* x, int n_blocks,
                          int n_tokens, float* out, int64_t out_stride) {
  float dots[kDotMultiTokens];
#pragma HLS ARRAY_PARTITION variable=dots complete
  for (int t0 = 0; t0 < n_tokens; t0 += kDotMultiTokens) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128
    const BlockQ8_0* x_t = x + static_cast<int64_t>(t0) * n_blocks;
    const int n = n_tokens - t0 < kDotMultiTokens ? n_tokens - t0 : kDotMultiTokens;
    static_assert(kDotMultiTokens == 4, "the cases below cover 1 to 4 tokens");
    switch (n) {
      case 4: DotQ8_0Multi<4>(w_row, x_t, n_blocks, n_blocks, dots); break;
      case 3: DotQ8_0Multi<3>(w_row, x_t, n_blocks, n_blocks, dots); break;
      case 2: DotQ8_0Multi<2>(w_row, x_t, n_blocks, n_blocks, dots); break;
      default: DotQ8_0Multi<1>(w_row, x_t, n_blocks, n_blocks, dots); break;
    }
    for (int k = 0; k < n; ++k) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=4
      out[static_cast<int64_t>(t0 + k) * out_stride] = dots[k];
    }
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_DOT_H_
