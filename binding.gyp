# node-gyp build of the CPU backend, for machines without CMake. Same sources
# as CMakeLists.txt (scripts/sources.mjs); the per-ISA kernels are static
# libraries so that they get their own instruction-set flags.
{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-fPIC", "-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "torl_avx2",
      "type": "static_library",
      "sources": ["<!@(node scripts/sources.mjs avx2)"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-ffp-contract=fast"]
    },
    {
      "target_name": "torl_avx512",
      "type": "static_library",
      "sources": ["<!@(node scripts/sources.mjs avx512)"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c", "-ffp-contract=fast"]
    },
    {
      "target_name": "torl",
      "sources": ["<!@(node scripts/sources.mjs cpu nocuda)"],
      "dependencies": ["torl_avx2", "torl_avx512"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
