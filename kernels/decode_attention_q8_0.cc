// decode_attention_q8_0: the attention half of a fused decode layer over Q8_0 weights and
// activations; see kernels/decode_attention_block.h. Work items are decode tokens.
#include "kernels/decode_attention_block.h"
#include "kernels/formats.h"
#include "kernels/kernels.h"

extern "C" void decode_attention_q8_0(float* x, const float* norm, const fabric::BlockQ8_0* wq,
                                      const fabric::BlockQ8_0* wk, const fabric::BlockQ8_0* wv,
                                      const fabric::BlockQ8_0* wo, float* k_cache, float* v_cache,
                                      const int* block_tables, const int* token_seqs,
                                      const int* positions, const int* slots, float* out, int dim,
                                      int n_heads, int n_kv_heads, int head_dim, float eps,
                                      float theta, int block_size, int max_blocks, int residual,
                                      int begin, int end) {
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_out
#pragma HLS INTERFACE m_axi port=norm offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=wq offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=wk offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=wv offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=wo offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=k_cache offset=slave bundle=gmem_kv
#pragma HLS INTERFACE m_axi port=v_cache offset=slave bundle=gmem_kv
#pragma HLS INTERFACE m_axi port=block_tables offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=token_seqs offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=positions offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=slots offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=dim
#pragma HLS INTERFACE s_axilite port=n_heads
#pragma HLS INTERFACE s_axilite port=n_kv_heads
#pragma HLS INTERFACE s_axilite port=head_dim
#pragma HLS INTERFACE s_axilite port=eps
#pragma HLS INTERFACE s_axilite port=theta
#pragma HLS INTERFACE s_axilite port=block_size
#pragma HLS INTERFACE s_axilite port=max_blocks
#pragma HLS INTERFACE s_axilite port=residual
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  fabric::DecodeAttentionBlock(x, norm, wq, wk, wv, wo, k_cache, v_cache, block_tables, token_seqs,
                               positions, slots, out, dim, n_heads, n_kv_heads, head_dim, eps,
                               theta, block_size, max_blocks, residual, begin, end);
}
