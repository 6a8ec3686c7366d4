#include "device/mock/kernel_registry.h"

#include <array>

#include "kernels/kernels.h"

namespace fabric {
namespace {

// Binds the top function `fn` to the table entry of the same name, failing the build when
// their signatures disagree.
#define FABRIC_MOCK_KERNEL(fn)                                                          \
  [] {                                                                                  \
    static_assert(kernel_binding::MatchesSpec<&fn>(                                     \
                      #fn, std::make_index_sequence<                                    \
                               kernel_binding::Signature<decltype(&fn)>::kArity>()),    \
                  "kernel " #fn " does not match kernels/kernel_signatures.h");         \
    return MockKernel{FindKernelSpec(#fn), &kernel_binding::InvokeAll<&fn>};            \
  }()

const std::array<MockKernel, kKernelSpecs.size()>& MockKernels() {
  static const std::array<MockKernel, kKernelSpecs.size()> kernels = {
      FABRIC_MOCK_KERNEL(gather_f32),    FABRIC_MOCK_KERNEL(gather_q8_0),
      FABRIC_MOCK_KERNEL(rmsnorm),       FABRIC_MOCK_KERNEL(quantize_q8_0),
      FABRIC_MOCK_KERNEL(matvec_f32),    FABRIC_MOCK_KERNEL(matmul_f32),
      FABRIC_MOCK_KERNEL(matvec_q8_0),   FABRIC_MOCK_KERNEL(matmul_q8_0),
      FABRIC_MOCK_KERNEL(rope),          FABRIC_MOCK_KERNEL(kv_store),
      FABRIC_MOCK_KERNEL(attention),     FABRIC_MOCK_KERNEL(swiglu),
      FABRIC_MOCK_KERNEL(residual_add),  FABRIC_MOCK_KERNEL(decode_attention_f32),
      FABRIC_MOCK_KERNEL(decode_attention_q8_0), FABRIC_MOCK_KERNEL(decode_ffn_f32),
      FABRIC_MOCK_KERNEL(decode_ffn_q8_0),
  };
  return kernels;
}

#undef FABRIC_MOCK_KERNEL

}  // namespace

const MockKernel* FindMockKernel(std::string_view name) {
  for (const MockKernel& kernel : MockKernels()) {
    if (kernel.spec->name == name) return &kernel;
  }
  return nullptr;
}

}  // namespace fabric
