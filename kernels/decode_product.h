// The weight products of the fused decode kernels (decode_attention_*, decode_ffn_*): the
// very matvec_* kernels the per-operator decode path launches, called on on-chip buffers, so
// a fused layer is bit-identical to the same layer launched operator by operator.
// W is the weight format: float or fabric::BlockQ8_0.
#ifndef FABRIC_KERNELS_DECODE_PRODUCT_H_
#define FABRIC_KERNELS_DECODE_PRODUCT_H_

#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/formats.h"
#include "kernels/kernels.h"

namespace fabric {

template <typename W>
inline constexpr bool kQuantizedWeights = std::is_same_v<W, BlockQ8_0>;

// Q8_0 blocks an on-chip buffer of `floats` activations needs when W is quantized (1 if not).
template <typename W>
constexpr int QuantizedBlocks(int floats) {
  return kQuantizedWeights<W> ? floats / kQ8BlockSize : 1;
}

// in_q8 = in quantized to Q8_0 when W is, once per input shared by several products.
// in: [n_tokens, n_in]
template <typename W>
inline void QuantizeForProducts(const float* in, BlockQ8_0* in_q8, int n_in, int n_tokens) {
  if constexpr (kQuantizedWeights<W>) quantize_q8_0(in, in_q8, n_in, 0, n_tokens);
}

// out[t, :] = w · in[t, :] for t < n_tokens; w: [n_out, n_in], in_q8 prepared by
// QuantizeForProducts.
template <typename W>
inline void DecodeProduct(const W* w, const float* in, const BlockQ8_0* in_q8, float* out,
                          int n_tokens, int n_in, int n_out) {
  if constexpr (kQuantizedWeights<W>) {
    matvec_q8_0(w, in_q8, out, n_tokens, n_in, n_out, 0, n_out);
  } else {
    matvec_f32(w, in, out, n_tokens, n_in, n_out, 0, n_out);
  }
}

// rows[t, :] = NaN for tokens t in [begin, end): what a fused kernel writes for a slice too
// wide for its on-chip buffers, so the error cannot pass unnoticed. rows: [tokens, dim]
inline void FillNaNRows(float* rows, int dim, int begin, int end) {
  for (int64_t i = int64_t(begin) * dim; i < int64_t(end) * dim; ++i) {
    rows[i] = std::numeric_limits<float>::quiet_NaN();
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_DECODE_PRODUCT_H_
