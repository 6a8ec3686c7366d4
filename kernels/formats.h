// Data formats shared by the HLS kernels, the weight loaders and the mock device.
// Plain C++ with no library dependencies, so Vitis HLS can synthesize what includes it.
#ifndef FABRIC_KERNELS_FORMATS_H_
#define FABRIC_KERNELS_FORMATS_H_

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__F16C__) && !defined(__SYNTHESIS__)
#include <immintrin.h>
#endif

namespace fabric {

// GGUF's Q8_0: 32 int8 weights sharing one fp16 scale; value = d * qs[i].
inline constexpr int kQ8BlockSize = 32;
struct BlockQ8_0 {
  uint16_t d;  // fp16 bits
  int8_t qs[kQ8BlockSize];
};
static_assert(sizeof(BlockQ8_0) == 34, "GGUF Q8_0 blocks are 34 bytes");

inline float Fp16ToFp32(uint16_t h) {
#if defined(__F16C__) && !defined(__SYNTHESIS__)
  return _cvtsh_ss(h);
#else
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / nan
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: renormalize
    exponent = 113;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// Round-to-nearest-even conversion, as llama.cpp's quantizer produces.
inline uint16_t Fp32ToFp16(float f) {
#if defined(__F16C__) && !defined(__SYNTHESIS__)
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
#else
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // overflows to inf after rounding
  if (abs < 0x38800000u) {                       // subnormal or zero in fp16
    if (abs < 0x33000000u) return sign;
    // f = mantissa * 2^(exponent - 150) and a subnormal half counts units of 2^-24.
    const uint32_t shift = 126 - (abs >> 23);
    const uint32_t mantissa = (abs & 0x7fffff) | 0x800000;
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = ((abs - 0x38000000u) >> 13);
  const uint32_t rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;
  return sign | static_cast<uint16_t>(half);
#endif
}

// Quantizes 32 floats to one Q8_0 block the way llama.cpp's reference quantizer does:
// scale = max|x| / 127, q = round(x / scale).
inline void QuantizeBlockQ8_0(const float* x, BlockQ8_0* out) {
  float amax = 0.0f;
  for (int i = 0; i < kQ8BlockSize; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  out->d = Fp32ToFp16(d);
  for (int i = 0; i < kQ8BlockSize; ++i) {
    out->qs[i] = static_cast<int8_t>(std::round(x[i] * inverse));
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_FORMATS_H_
