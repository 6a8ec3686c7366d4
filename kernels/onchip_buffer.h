// On-chip buffers of the fused kernels. Vitis HLS maps a kernel's local array to BRAM/URAM;
// under g++ the fused kernels' megabyte-sized buffers would overflow a thread's stack, so each
// thread that runs a kernel (each mock compute unit) keeps its own heap copy, allocated on
// first use and reused by every later launch on that thread.
#ifndef FABRIC_KERNELS_ONCHIP_BUFFER_H_
#define FABRIC_KERNELS_ONCHIP_BUFFER_H_

#ifdef __SYNTHESIS__
#define FABRIC_ONCHIP_BUFFER(type, name, size) type name[size]
#else
#include <vector>
#define FABRIC_ONCHIP_BUFFER(type, name, size)                \
  static thread_local std::vector<type> name##_storage(size); \
  type* const name = name##_storage.data()
#endif

#endif  // FABRIC_KERNELS_ONCHIP_BUFFER_H_
