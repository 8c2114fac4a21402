// cuBLASLt through dlopen. Row-major C[m, n] = op(A)·op(B) is computed as the
// column-major Cᵀ[n, m] = op(B)ᵀ·op(A)ᵀ, so B is cuBLAS's first operand.
#include <dlfcn.h>
#include <glob.h>

#include <cstdint>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "common.cuh"
#include "cublaslt.cuh"

namespace torl::cuda {

namespace {

// ---- the minimal declarations we use (values from cublasLt.h / library_types.h) ----
using Status = int;  // cublasStatus_t, 0 = success
using Handle = void*;
using Desc = void*;
using Layout = void*;
using Pref = void*;
struct Algo { uint64_t data[8]; };
struct Heuristic { Algo algo; size_t workspaceSize; Status state; float wavesCount; int reserved[4]; };
constexpr int COMPUTE_32F = 68, R_32F = 0, R_16BF = 14;
constexpr int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8, DESC_BIAS_DATA_TYPE = 26;
constexpr int OP_N = 0, OP_T = 1;
constexpr uint32_t EPILOGUE_DEFAULT = 1, EPILOGUE_BIAS = 4;
constexpr int PREF_MAX_WORKSPACE_BYTES = 1;
constexpr size_t WORKSPACE = 32u << 20;

struct Api {
  Status (*create)(Handle*);
  Status (*desc_create)(Desc*, int compute, int scale);
  Status (*desc_set)(Desc, int attr, const void*, size_t);
  Status (*layout_create)(Layout*, int type, uint64_t rows, uint64_t cols, int64_t ld);
  Status (*desc_destroy)(Desc);
  Status (*layout_destroy)(Layout);
  Status (*pref_create)(Pref*);
  Status (*pref_destroy)(Pref);
  Status (*pref_set)(Pref, int attr, const void*, size_t);
  Status (*heuristic)(Handle, Desc, Layout, Layout, Layout, Layout, Pref, int, Heuristic*, int*);
  Status (*matmul)(Handle, Desc, const void*, const void*, Layout, const void*, Layout, const void*, const void*, Layout,
                   void*, Layout, const Algo*, void*, size_t, cudaStream_t);
};

struct Loaded {
  CublasLt info;
  Api api{};
};

std::vector<std::string> candidates() {
  std::vector<std::string> dirs;
  auto split = [&](const char* s) {
    if (!s) return;
    std::string cur;
    for (const char* p = s;; ++p) {
      if (*p == ':' || *p == '\0') {
        if (!cur.empty()) dirs.push_back(cur);
        cur.clear();
        if (!*p) break;
      } else {
        cur += *p;
      }
    }
  };
  split(std::getenv("LD_LIBRARY_PATH"));
  for (const char* v : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* h = std::getenv(v)) dirs.push_back(std::string(h) + "/lib64");
  dirs.push_back("/usr/local/cuda/lib64");
  // Python's nvidia-cublas wheels (e.g. inside a PyTorch install).
  std::vector<std::string> patterns = {"/usr/lib/python3*/site-packages", "/usr/local/lib/python3*/site-packages",
                                       "/usr/local/lib/python3*/dist-packages", "/usr/lib/python3/dist-packages",
                                       "/opt/conda/lib/python3*/site-packages", "/root/.local/lib/python3*/site-packages"};
  for (const char* v : {"VIRTUAL_ENV", "CONDA_PREFIX", "HOME"}) {
    if (const char* h = std::getenv(v)) {
      patterns.push_back(std::string(h) + "/lib/python3*/site-packages");
      patterns.push_back(std::string(h) + "/.local/lib/python3*/site-packages");
      patterns.push_back(std::string(h) + "/.pyenv/versions/*/lib/python3*/site-packages");
      patterns.push_back(std::string(h) + "/miniconda3/lib/python3*/site-packages");
    }
  }
  for (const std::string& pat : patterns) {
    glob_t g{};
    if (glob((pat + "/nvidia/cublas/lib").c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) dirs.push_back(g.gl_pathv[i]);
    if (glob((pat + "/nvidia/cu*/lib").c_str(), 0, nullptr, &g) == 0)  // CUDA 13 wheels: nvidia/cu13/lib
      for (size_t i = 0; i < g.gl_pathc; ++i) dirs.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  std::vector<std::string> files;
  for (const char* name : {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"}) {
    for (const std::string& d : dirs) files.push_back(d + "/" + name);
    files.push_back(name);  // the loader's own search
  }
  return files;
}

template <typename F>
bool sym(void* lib, const char* name, F*& out) {
  out = reinterpret_cast<F*>(dlsym(lib, name));
  return out != nullptr;
}

Loaded load() {
  Loaded L;
  const char* env = std::getenv("TORL_CUBLASLT");
  if (env && std::string(env) == "off") {
    L.info.why_not = "disabled by TORL_CUBLASLT=off";
    return L;
  }
  std::vector<std::string> files = env && *env ? std::vector<std::string>{env} : candidates();
  std::string tried;
  for (const std::string& f : files) {
    void* lib = dlopen(f.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) continue;
    Api& a = L.api;
    const bool ok = sym(lib, "cublasLtCreate", a.create) && sym(lib, "cublasLtMatmulDescCreate", a.desc_create) &&
                    sym(lib, "cublasLtMatmulDescSetAttribute", a.desc_set) &&
                    sym(lib, "cublasLtMatrixLayoutCreate", a.layout_create) &&
                    sym(lib, "cublasLtMatmulDescDestroy", a.desc_destroy) &&
                    sym(lib, "cublasLtMatrixLayoutDestroy", a.layout_destroy) &&
                    sym(lib, "cublasLtMatmulPreferenceCreate", a.pref_create) &&
                    sym(lib, "cublasLtMatmulPreferenceDestroy", a.pref_destroy) &&
                    sym(lib, "cublasLtMatmulPreferenceSetAttribute", a.pref_set) &&
                    sym(lib, "cublasLtMatmulAlgoGetHeuristic", a.heuristic) && sym(lib, "cublasLtMatmul", a.matmul);
    if (!ok) {
      tried += f + " (missing symbols) ";
      dlclose(lib);
      continue;
    }
    L.info.loaded = true;
    L.info.path = f;
    return L;
  }
  L.info.why_not = env && *env ? std::string("could not load TORL_CUBLASLT=") + env
                               : "libcublasLt.so.{13,12} not found in LD_LIBRARY_PATH, CUDA_HOME, /usr/local/cuda or "
                                 "Python site-packages/nvidia/cublas/lib" + (tried.empty() ? "" : "; " + tried);
  return L;
}

Loaded& loaded() {
  static Loaded L = load();
  return L;
}

struct Plan {
  Desc desc;
  Layout a, b, c;
  Algo algo;
  bool ok;
};

using Key = std::tuple<int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int, bool>;

// Plans are kept per exact shape; packed token counts change every step, so the cache is
// bounded (least recently used out) rather than growing a descriptor set per shape seen.
constexpr size_t MAX_PLANS = 256;

void destroy(const Api& api, Plan& p) {
  if (p.desc) api.desc_destroy(p.desc);
  for (Layout l : {p.a, p.b, p.c})
    if (l) api.layout_destroy(l);
}

}  // namespace

const CublasLt& cublaslt() { return loaded().info; }

bool cublaslt_gemm(const GemmArgs& g, const void* bias, int device) {
  Loaded& L = loaded();
  if (!L.info.loaded || g.a_dtype != g.b_dtype) return false;
  const Api& api = L.api;
  const int in_t = g.a_dtype == DType::BF16 ? R_16BF : R_32F;
  const int out_t = g.c_dtype == DType::BF16 ? R_16BF : R_32F;

  static std::mutex m;
  static std::map<int, Handle> handles;
  static std::map<int, void*> workspaces;
  static std::list<Key> recent;  // most recently used first
  static std::map<Key, std::pair<Plan, std::list<Key>::iterator>> plans;
  std::lock_guard<std::mutex> lk(m);
  set_device(device);
  Handle& h = handles[device];
  if (!h && api.create(&h) != 0) return false;
  void*& ws = workspaces[device];
  if (!ws) ws = alloc(WORKSPACE, device);

  const Key key{device, g.trans_a, g.trans_b, g.m, g.n, g.k, g.lda, g.ldb, g.ldc, in_t, out_t, bias != nullptr};
  auto it = plans.find(key);
  if (it != plans.end()) {
    recent.splice(recent.begin(), recent, it->second.second);
  } else {
    if (plans.size() >= MAX_PLANS) {
      auto old = plans.find(recent.back());
      destroy(api, old->second.first);
      plans.erase(old);
      recent.pop_back();
    }
    Plan p{};
    // cuBLAS operands: first = B (col-major view [n, k] or its transpose), second = A.
    const int opB = g.trans_b ? OP_T : OP_N, opA = g.trans_a ? OP_T : OP_N;
    p.ok = api.desc_create(&p.desc, COMPUTE_32F, R_32F) == 0 &&
           api.desc_set(p.desc, DESC_TRANSA, &opB, sizeof opB) == 0 &&
           api.desc_set(p.desc, DESC_TRANSB, &opA, sizeof opA) == 0;
    const uint32_t epi = bias ? EPILOGUE_BIAS : EPILOGUE_DEFAULT;
    p.ok = p.ok && api.desc_set(p.desc, DESC_EPILOGUE, &epi, sizeof epi) == 0;
    if (bias) p.ok = p.ok && api.desc_set(p.desc, DESC_BIAS_DATA_TYPE, &out_t, sizeof out_t) == 0;
    p.ok = p.ok &&
           api.layout_create(&p.b, in_t, g.trans_b ? g.k : g.n, g.trans_b ? g.n : g.k, g.ldb) == 0 &&
           api.layout_create(&p.a, in_t, g.trans_a ? g.m : g.k, g.trans_a ? g.k : g.m, g.lda) == 0 &&
           api.layout_create(&p.c, out_t, g.n, g.m, g.ldc) == 0;
    if (p.ok) {
      Pref pref = nullptr;
      const uint64_t wsb = WORKSPACE;
      Heuristic hr{};
      int found = 0;
      p.ok = api.pref_create(&pref) == 0 && api.pref_set(pref, PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb) == 0 &&
             api.heuristic(h, p.desc, p.b, p.a, p.c, p.c, pref, 1, &hr, &found) == 0 && found > 0;
      if (p.ok) p.algo = hr.algo;
      if (pref) api.pref_destroy(pref);
    }
    recent.push_front(key);
    it = plans.emplace(key, std::make_pair(p, recent.begin())).first;
  }
  Plan& p = it->second.first;
  if (!p.ok) return false;
  if (bias && api.desc_set(p.desc, DESC_BIAS_POINTER, &bias, sizeof bias) != 0) return false;
  const float alpha = g.alpha, beta = g.beta;
  const Status s = api.matmul(h, p.desc, &alpha, g.b, p.b, g.a, p.a, &beta, g.c, p.c, g.c, p.c, &p.algo, ws, WORKSPACE,
                              current_stream(device));
  // A failed call launched nothing: our own kernel computes this product, and this shape's
  // plan is not tried again.
  if (s != 0) p.ok = false;
  return s == 0;
}

}  // namespace torl::cuda
