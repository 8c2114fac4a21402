// Qwen2: weights, batch checks and the layer-by-layer forward and backward,
// composed from the op functions only (see qwen2.h).
#include "qwen2.h"

#include <cmath>
#include <cstring>

#include "model_internal.h"
#include "torl/add.h"
#include "torl/attention.h"
#include "torl/embedding.h"
#include "torl/error.h"
#include "torl/linear.h"
#include "torl/rmsnorm.h"
#include "torl/rope.h"
#include "torl/swiglu.h"

namespace torl::model {

namespace {

const char* const kLayerParams[] = {
    "attn_norm.weight", "attn.q.weight",    "attn.q.bias", "attn.k.weight", "attn.k.bias",    "attn.v.weight",
    "attn.v.bias",      "attn.o.weight",    "mlp_norm.weight", "mlp.gate.weight", "mlp.up.weight", "mlp.down.weight",
};

std::string layer_name(int64_t l, const char* suffix) { return "layers." + std::to_string(l) + "." + suffix; }

}  // namespace

Tensor view(const Tensor& t, Shape shape) {
  Tensor v = t;
  v.shape = std::move(shape);
  return v;
}

Qwen2::Qwen2(const Qwen2Config& c, Device device, DType dtype) : cfg_(c), device_(device), dtype_(dtype) {
  const char* op = "Model";
  TORL_CHECK(dtype == DType::F32 || dtype == DType::BF16, op, ": dtype must be f32 or bf16, got ", dtype_name(dtype));
  TORL_CHECK(c.hidden > 0 && c.intermediate > 0 && c.layers > 0 && c.heads > 0 && c.kv_heads > 0 && c.head_dim > 0 &&
                 c.vocab > 0 && c.max_positions > 0,
             op, ": every size in the config must be a positive integer");
  TORL_CHECK(c.heads % c.kv_heads == 0, op, ": num_key_value_heads (", c.kv_heads,
             ") must divide num_attention_heads (", c.heads, ")");
  TORL_CHECK(c.head_dim % 8 == 0, op, ": head_dim must be a multiple of 8, got ", c.head_dim);
  TORL_CHECK(c.rope_theta > 0 && c.eps >= 0, op, ": rope_theta must be > 0 and rms_norm_eps ≥ 0");
  const int64_t D = c.hidden, I = c.intermediate, Q = c.heads * c.head_dim, KV = c.kv_heads * c.head_dim;
  specs_.push_back({"embed.weight", {c.vocab, D}});
  const Shape layer_shapes[] = {{D}, {Q, D}, {Q}, {KV, D}, {KV}, {KV, D}, {KV}, {D, Q}, {D}, {I, D}, {I, D}, {D, I}};
  for (int64_t l = 0; l < c.layers; ++l)
    for (size_t i = 0; i < std::size(kLayerParams); ++i) specs_.push_back({layer_name(l, kLayerParams[i]), layer_shapes[i]});
  specs_.push_back({"final_norm.weight", {D}});
  if (!c.tied) specs_.push_back({"lm_head.weight", {c.vocab, D}});
}

void Qwen2::set_weight(const std::string& name, const Tensor& t) {
  const Shape* want = nullptr;
  for (const auto& [n, s] : specs_)
    if (n == name) want = &s;
  TORL_CHECK(want, "Model.setWeight: unknown parameter \"", name, "\"",
             cfg_.tied && name == "lm_head.weight" ? " (the embeddings are tied: lm_head is embed.weight)" : "");
  TORL_CHECK(t.defined(), "Model.setWeight: \"", name, "\" has been disposed");
  TORL_CHECK(t.dtype == DType::F32 || t.dtype == DType::BF16 || t.dtype == DType::F16, "Model.setWeight: \"", name,
             "\" must be a float tensor, got ", dtype_name(t.dtype));
  TORL_CHECK(t.shape == *want, "Model.setWeight: \"", name, "\" must have shape ", shape_str(*want), ", got ",
             t.shape_str());
  Tensor v = t;
  if (v.dtype != dtype_) v = to_dtype(to_device(v, Device{}), dtype_);
  if (v.device() != device_ || v.storage == t.storage) v = to_device(v, device_);  // always our own copy
  weights_[name] = v;
}

const Tensor& Qwen2::weight(const std::string& name) const {
  auto it = weights_.find(name);
  TORL_CHECK(it != weights_.end(), "Model: weight \"", name, "\" is missing");
  return it->second;
}

void Qwen2::check_complete() const {
  for (const auto& [n, s] : specs_)
    TORL_CHECK(weights_.count(n), "Model: weight \"", n, "\" (shape ", shape_str(s), ") is missing");
}

const Tensor& Qwen2::w(int64_t layer, const char* suffix) const { return weight(layer_name(layer, suffix)); }
const std::string& Qwen2::head_name() const {
  static const std::string tied = "embed.weight", untied = "lm_head.weight";
  return cfg_.tied ? tied : untied;
}
const Tensor& Qwen2::head() const { return weight(head_name()); }

Tensor Qwen2::linear(const Micro& mb, const std::string& name, const Tensor& x, const Tensor* bias) const {
  const Tensor& wt = weight(name);
  if (mb.packed) {
    auto it = mb.packed->find(name);
    if (it != mb.packed->end()) {
      linear_check(x, wt, bias);
      return cpu::linear_forward_packed(x, wt, &it->second, bias);
    }
  }
  return linear_forward(x, wt, bias);
}

void Qwen2::pack_weights(int64_t version) {
  if (version < 0 || !device_.is_cpu()) {
    packed_.clear();
    packed_version_ = -1;
    return;
  }
  if (version == packed_version_) return;
  packed_.clear();
  std::vector<std::string> names{head_name()};
  for (int64_t l = 0; l < cfg_.layers; ++l)
    for (const char* s : {"attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.o.weight", "mlp.gate.weight",
                          "mlp.up.weight", "mlp.down.weight"})
      names.push_back(layer_name(l, s));
  for (const std::string& n : names) {
    const Tensor& t = weight(n);
    packed_[n] = cpu::prepack_nt(t.data(), t.dtype, t.dim(0), t.dim(1), t.dim(1));
  }
  packed_version_ = version;
}

std::vector<std::pair<std::string, Tensor>> Qwen2::gradients() const {
  std::unique_lock<std::mutex> lk(busy_, std::try_to_lock);
  TORL_CHECK(lk.owns_lock(), "Model.gradients: a forwardBackward is still running; await it first");
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [n, s] : specs_) {
    auto it = grads_.find(n);
    out.push_back({n, it == grads_.end() ? Tensor{} : it->second});
  }
  return out;
}

void Qwen2::zero_grad() {
  std::unique_lock<std::mutex> lk(busy_, std::try_to_lock);
  TORL_CHECK(lk.owns_lock(), "Model.zeroGrad: a forwardBackward is still running; await it first");
  grads_.clear();
}

void Qwen2::accumulate(const std::string& name, Tensor g) {
  Tensor& slot = grads_[name];
  if (slot.defined()) add_inplace(slot, g);
  else slot = std::move(g);
}
void Qwen2::accumulate(int64_t layer, const char* suffix, Tensor g) { accumulate(layer_name(layer, suffix), std::move(g)); }

void Qwen2::check_batch(const Batch& b, const char* op) const {
  auto host_i32 = [&](const Tensor& t, const char* name) {
    TORL_CHECK(t.defined() && t.dtype == DType::I32 && t.ndim() == 1 && t.device().is_cpu(), op, ": ", name,
               " must be a 1-D i32 host tensor");
  };
  host_i32(b.tokens, "tokens");
  host_i32(b.positions, "positions");
  host_i32(b.cu_seqlens, "cuSeqlens");
  host_i32(b.targets, "targets");
  TORL_CHECK(b.mask.defined() && b.mask.dtype == DType::F32 && b.mask.ndim() == 1 && b.mask.device().is_cpu(), op,
             ": mask must be a 1-D f32 host tensor");
  const int64_t T = b.tokens.dim(0);
  TORL_CHECK(T > 0, op, ": the batch has no tokens");
  for (const auto& [t, name] : {std::pair{&b.positions, "positions"}, {&b.targets, "targets"}, {&b.mask, "mask"}})
    TORL_CHECK(t->dim(0) == T, op, ": ", name, " has ", t->dim(0), " entries but tokens has ", T);
  const int32_t* cu = b.cu_seqlens.ptr<int32_t>();
  const int64_t B = b.cu_seqlens.dim(0) - 1;
  TORL_CHECK(B >= 1 && cu[0] == 0 && cu[B] == T, op, ": cuSeqlens must start at 0 and end at T = ", T, ", got ",
             b.cu_seqlens.shape_str(), B >= 0 ? " ending at " + std::to_string(cu[B]) : std::string());
  for (int64_t i = 0; i < B; ++i)
    TORL_CHECK(cu[i] <= cu[i + 1], op, ": cuSeqlens must not decrease (cuSeqlens[", i, "] = ", cu[i],
               " > cuSeqlens[", i + 1, "] = ", cu[i + 1], ")");
  const int32_t* ids = b.tokens.ptr<int32_t>();
  const int32_t* pos = b.positions.ptr<int32_t>();
  const int32_t* tg = b.targets.ptr<int32_t>();
  for (int64_t t = 0; t < T; ++t) {
    TORL_CHECK(ids[t] >= 0 && ids[t] < cfg_.vocab, op, ": tokens[", t, "] = ", ids[t], " is outside [0, vocab_size = ",
               cfg_.vocab, ")");
    TORL_CHECK(tg[t] >= 0 && tg[t] < cfg_.vocab, op, ": targets[", t, "] = ", tg[t],
               " is outside [0, vocab_size = ", cfg_.vocab, ")");
    TORL_CHECK(pos[t] >= 0 && pos[t] < cfg_.max_positions, op, ": positions[", t, "] = ", pos[t],
               " is outside [0, max_position_embeddings = ", cfg_.max_positions, ")");
  }
}

// One layer, from a.x / a.y1 / a.rstd1 (set by the caller); fills the rest of
// `a` and returns the MLP output (the next layer's rmsnorm adds it to a.xmid).
Tensor Qwen2::layer_forward(int64_t l, LayerActs& a, const Micro& mb) const {
  const int64_t T = mb.T, Hq = cfg_.heads, Hkv = cfg_.kv_heads, Dh = cfg_.head_dim;
  const Tensor q = view(linear(mb, layer_name(l, "attn.q.weight"), a.y1, &w(l, "attn.q.bias")), {T, Hq, Dh});
  const Tensor k = view(linear(mb, layer_name(l, "attn.k.weight"), a.y1, &w(l, "attn.k.bias")), {T, Hkv, Dh});
  a.v = view(linear(mb, layer_name(l, "attn.v.weight"), a.y1, &w(l, "attn.v.bias")), {T, Hkv, Dh});
  RopeOut r = rope_forward(q, k, mb.positions, cfg_.rope_theta, true);
  a.q = r.q;
  a.k = r.k;
  AttentionOut at = mb.attend ? (*mb.attend)(l, a.q, a.k, a.v)
                              : attention_forward(a.q, a.k, a.v, mb.cu, 1.0 / std::sqrt(static_cast<double>(Dh)));
  a.att = at.out;
  a.lse = at.lse;
  const Tensor o = linear(mb, layer_name(l, "attn.o.weight"), view(a.att, {T, Hq * Dh}), nullptr);
  RmsnormOut n2 = rmsnorm_forward(o, w(l, "mlp_norm.weight"), &a.x, cfg_.eps);
  a.xmid = n2.s;
  a.y2 = n2.y;
  a.rstd2 = n2.rstd;
  a.g = linear(mb, layer_name(l, "mlp.gate.weight"), a.y2, nullptr);
  a.u = linear(mb, layer_name(l, "mlp.up.weight"), a.y2, nullptr);
  a.m = swiglu_forward(a.g, a.u);
  return linear(mb, layer_name(l, "mlp.down.weight"), a.m, nullptr);
}

// dx: the gradient of this layer's output stream (x'' = xmid + mlp). Returns
// the gradient of its input stream; accumulates the layer's weight gradients.
Tensor Qwen2::layer_backward(int64_t l, LayerActs& a, const Micro& mb, const Tensor& dx) {
  const int64_t T = mb.T, Hq = cfg_.heads, Hkv = cfg_.kv_heads, Dh = cfg_.head_dim;
  LinearGrads gd = linear_backward(dx, a.m, w(l, "mlp.down.weight"), false);
  accumulate(l, "mlp.down.weight", std::move(gd.dw));
  SwigluGrads sg = swiglu_backward(gd.dx, a.g, a.u);
  LinearGrads gg = linear_backward(sg.dgate, a.y2, w(l, "mlp.gate.weight"), false);
  LinearGrads gu = linear_backward(sg.dup, a.y2, w(l, "mlp.up.weight"), false);
  accumulate(l, "mlp.gate.weight", std::move(gg.dw));
  accumulate(l, "mlp.up.weight", std::move(gu.dw));
  add_inplace(gg.dx, gu.dx);  // the gradient of y2 reaches it through gate and up
  RmsnormGrads n2 = rmsnorm_backward(gg.dx, a.xmid, w(l, "mlp_norm.weight"), a.rstd2, &dx);
  accumulate(l, "mlp_norm.weight", std::move(n2.dw));
  const Tensor& dxmid = n2.dx;

  LinearGrads go = linear_backward(dxmid, view(a.att, {T, Hq * Dh}), w(l, "attn.o.weight"), false);
  accumulate(l, "attn.o.weight", std::move(go.dw));
  AttentionGrads ag = attention_backward(view(go.dx, {T, Hq, Dh}), a.q, a.k, a.v, a.att, a.lse, mb.cu,
                                         1.0 / std::sqrt(static_cast<double>(Dh)));
  RopeOut dr = rope_backward(ag.dq, ag.dk, mb.positions, cfg_.rope_theta, true);
  LinearGrads gq = linear_backward(view(dr.q, {T, Hq * Dh}), a.y1, w(l, "attn.q.weight"), true);
  LinearGrads gk = linear_backward(view(dr.k, {T, Hkv * Dh}), a.y1, w(l, "attn.k.weight"), true);
  LinearGrads gv = linear_backward(view(ag.dv, {T, Hkv * Dh}), a.y1, w(l, "attn.v.weight"), true);
  accumulate(l, "attn.q.weight", std::move(gq.dw));
  accumulate(l, "attn.q.bias", std::move(gq.db));
  accumulate(l, "attn.k.weight", std::move(gk.dw));
  accumulate(l, "attn.k.bias", std::move(gk.db));
  accumulate(l, "attn.v.weight", std::move(gv.dw));
  accumulate(l, "attn.v.bias", std::move(gv.db));
  add_inplace(gq.dx, gk.dx);  // and that of y1 through q, k and v
  add_inplace(gq.dx, gv.dx);
  RmsnormGrads n1 = rmsnorm_backward(gq.dx, a.x, w(l, "attn_norm.weight"), a.rstd1, &dxmid);
  accumulate(l, "attn_norm.weight", std::move(n1.dw));
  return n1.dx;
}

Qwen2::Forward Qwen2::forward(const Micro& mb, bool save, bool recompute) const {
  Forward f;
  f.acts.resize(cfg_.layers);
  {
    LayerActs& a0 = f.acts[0];
    a0.x = embedding_forward(mb.tokens, weight("embed.weight"));
    RmsnormOut n = rmsnorm_forward(a0.x, w(0, "attn_norm.weight"), nullptr, cfg_.eps);
    a0.y1 = n.y;
    a0.rstd1 = n.rstd;
  }
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    LayerActs& a = f.acts[l];
    const Tensor mlp = layer_forward(l, a, mb);
    const bool last = l + 1 == cfg_.layers;
    RmsnormOut n = rmsnorm_forward(mlp, last ? weight("final_norm.weight") : w(l + 1, "attn_norm.weight"), &a.xmid,
                                   cfg_.eps);
    if (last) {
      f.xf = n.s;
      f.yf = n.y;
      f.rstdf = n.rstd;
    } else {
      f.acts[l + 1].x = n.s;
      f.acts[l + 1].y1 = n.y;
      f.acts[l + 1].rstd1 = n.rstd;
    }
    f.note_bytes();
    if (!save) a = LayerActs{};
    else if (recompute) a.keep_input_only();
  }
  return f;
}

void Qwen2::backward(Forward& f, const Micro& mb, const Tensor& dhidden, bool recompute) {
  RmsnormGrads nf = rmsnorm_backward(dhidden, f.xf, weight("final_norm.weight"), f.rstdf, nullptr);
  accumulate("final_norm.weight", std::move(nf.dw));
  Tensor dx = nf.dx;
  f.xf = f.yf = f.rstdf = Tensor{};
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) {
    LayerActs& a = f.acts[l];
    if (recompute) {
      RmsnormOut n = rmsnorm_forward(a.x, w(l, "attn_norm.weight"), nullptr, cfg_.eps);
      a.y1 = n.y;
      a.rstd1 = n.rstd;
      layer_forward(l, a, mb);
      f.note_bytes();
    }
    dx = layer_backward(l, a, mb, dx);
    a = LayerActs{};
  }
  accumulate("embed.weight", embedding_backward(dx, mb.tokens, cfg_.vocab));
}

}  // namespace torl::model
