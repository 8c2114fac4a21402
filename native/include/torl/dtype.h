// Element types and the scalar conversions between them (bf16 and f16 are
// storage formats: arithmetic always happens in f32).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace torl {

enum class DType : uint8_t { F32, BF16, F16, I32, I64, U8 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t);
// Parses "f32" | "bf16" | "f16" | "i32" | "i64" | "u8"; throws naming the bad value.
DType dtype_from_name(const std::string& name);

// bf16 <-> f32: round to nearest even, NaN kept quiet.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE half <-> f32 (round to nearest even; subnormals, inf and NaN handled).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

}  // namespace torl
