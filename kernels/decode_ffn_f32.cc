// decode_ffn_f32: the feed-forward half of a fused decode layer over float weights;
// see kernels/decode_ffn_block.h. Work items are decode tokens.
#include "kernels/decode_ffn_block.h"
#include "kernels/formats.h"
#include "kernels/kernels.h"

extern "C" void decode_ffn_f32(float* x, const float* norm, const float* w_gate, const float* w_up,
                               const float* w_down, float* out, int dim, int hidden_dim, float eps,
                               int residual, int begin, int end) {
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_out
#pragma HLS INTERFACE m_axi port=norm offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=w_gate offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=w_up offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=w_down offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=dim
#pragma HLS INTERFACE s_axilite port=hidden_dim
#pragma HLS INTERFACE s_axilite port=eps
#pragma HLS INTERFACE s_axilite port=residual
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  fabric::DecodeFfnBlock(x, norm, w_gate, w_up, w_down, out, dim, hidden_dim, eps, residual, begin,
                         end);
}
