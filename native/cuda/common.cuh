// Shared by the CUDA sources: error checking that turns every failed CUDA
// call or launch into a torl::Error naming the call or the kernel.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "torl/cuda.h"
#include "torl/error.h"

#define TORL_CUDA_CHECK(call)                                                                     \
  do {                                                                                            \
    cudaError_t torl_err_ = (call);                                                               \
    if (torl_err_ != cudaSuccess)                                                                 \
      ::torl::fail("CUDA error in ", #call, ": ", cudaGetErrorName(torl_err_), " (",              \
                   cudaGetErrorString(torl_err_), ")");                                           \
  } while (0)

// After a <<<...>>> launch: reports launch errors naming the kernel.
#define TORL_CUDA_LAUNCHED(kernel_name)                                                           \
  do {                                                                                            \
    cudaError_t torl_err_ = cudaGetLastError();                                                   \
    if (torl_err_ != cudaSuccess)                                                                 \
      ::torl::fail("CUDA kernel ", kernel_name, " failed to launch: ", cudaGetErrorName(torl_err_), \
                   " (", cudaGetErrorString(torl_err_), ")");                                     \
  } while (0)

namespace torl::cuda {

inline cudaStream_t current_stream(int device) { return static_cast<cudaStream_t>(stream(device)); }

// Makes `device` current on this thread (cheap when it already is).
void set_device(int device);

inline __device__ float to_f32(float x) { return x; }
inline __device__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

// f32 → T (float or __nv_bfloat16, round to nearest even).
template <typename T>
__device__ __forceinline__ T from_f32(float x);
template <>
__device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) { return __float2bfloat16(x); }

}  // namespace torl::cuda
