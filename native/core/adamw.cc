// adamw, gradNorm, clipGradNorm: argument validation and backend dispatch.
#include "torl/adamw.h"

#include <cmath>
#include <string>

#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/registry.h"
#include "train_checks.h"

namespace torl {

namespace {

std::string at(const char* list, size_t i) { return std::string(list) + "[" + std::to_string(i) + "]"; }

// list[i] has params[i]'s shape and device and one of the element types.
void check_like(const Tensor& t, const Tensor& p, const char* list, size_t i, std::initializer_list<DType> dtypes,
                const char* op) {
  const std::string name = at(list, i);
  tcheck::dtype_in(t, op, name.c_str(), dtypes);
  TORL_CHECK(t.shape == p.shape, op, ": ", name, " must have params[", i, "]'s shape ", p.shape_str(), ", got ",
             t.shape_str());
  tcheck::same_device(p, at("params", i).c_str(), t, name.c_str(), op);
}

Device list_device(const std::vector<Tensor>& ts) { return ts.empty() ? Device{} : ts[0].device(); }

}  // namespace

void adamw_check(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                 const std::vector<Tensor>& v, const std::vector<Tensor>& master, const AdamWOptions& o) {
  const char* op = "adamw";
  const size_t n = params.size();
  TORL_CHECK(grads.size() == n, op, ": grads has ", grads.size(), " tensors but params has ", n);
  TORL_CHECK(m.size() == n, op, ": m has ", m.size(), " tensors but params has ", n);
  TORL_CHECK(v.size() == n, op, ": v has ", v.size(), " tensors but params has ", n);
  TORL_CHECK(master.empty() || master.size() == n, op, ": master has ", master.size(), " tensors but params has ", n);
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = params[i];
    tcheck::dtype_in(p, op, at("params", i).c_str(), {DType::F32, DType::BF16});
    TORL_CHECK(!(master.empty() && p.dtype == DType::BF16), op, ": params[", i,
               "] is bf16, so an f32 master copy is needed (option master)");
    check_like(grads[i], p, "grads", i, {DType::F32, DType::BF16}, op);
    check_like(m[i], p, "m", i, {DType::F32}, op);
    check_like(v[i], p, "v", i, {DType::F32}, op);
    if (!master.empty()) check_like(master[i], p, "master", i, {DType::F32}, op);
    tcheck::same_device(params[0], "params[0]", p, at("params", i).c_str(), op);
  }
  TORL_CHECK(o.lr >= 0, op, ": lr must be ≥ 0, got ", o.lr);
  TORL_CHECK(o.beta1 >= 0 && o.beta1 < 1, op, ": beta1 must be in [0, 1), got ", o.beta1);
  TORL_CHECK(o.beta2 >= 0 && o.beta2 < 1, op, ": beta2 must be in [0, 1), got ", o.beta2);
  TORL_CHECK(o.eps > 0, op, ": eps must be > 0, got ", o.eps);
  TORL_CHECK(o.weight_decay >= 0, op, ": weightDecay must be ≥ 0, got ", o.weight_decay);
  TORL_CHECK(o.step >= 1, op, ": step must be ≥ 1 (the 1-based number of the step being taken), got ", o.step);
  if (list_device(params).is_cuda()) cuda::require(list_device(params), op);
}

void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                const std::vector<Tensor>& v, const std::vector<Tensor>& master, const AdamWOptions& o) {
  adamw_check(params, grads, m, v, master, o);
  if (params.empty()) return;
  kernel<adamw_step_t>("adamw_step", list_device(params))(params, grads, m, v, master, o);
}

void grad_norm_check(const std::vector<Tensor>& grads, const char* op) {
  for (size_t i = 0; i < grads.size(); ++i) {
    tcheck::dtype_in(grads[i], op, at("grads", i).c_str(), {DType::F32, DType::BF16});
    tcheck::same_device(grads[0], "grads[0]", grads[i], at("grads", i).c_str(), op);
  }
  if (list_device(grads).is_cuda()) cuda::require(list_device(grads), op);
}

double grad_norm(const std::vector<Tensor>& grads) {
  grad_norm_check(grads, "gradNorm");
  if (grads.empty()) return 0;
  return kernel<grad_norm_t>("grad_norm", list_device(grads))(grads);
}

void clip_grad_norm_check(const std::vector<Tensor>& grads, double max_norm) {
  grad_norm_check(grads, "clipGradNorm");
  TORL_CHECK(max_norm > 0, "clipGradNorm: maxNorm must be > 0, got ", max_norm);
}

double clip_grad_norm(const std::vector<Tensor>& grads, double max_norm) {
  clip_grad_norm_check(grads, max_norm);
  if (grads.empty()) return 0;
  const double norm = kernel<grad_norm_t>("grad_norm", list_device(grads))(grads);
  const double coef = max_norm / (norm + 1e-6);
  if (std::isfinite(norm) && coef < 1) kernel<scale_grads_t>("scale_grads", list_device(grads))(grads, coef);
  return norm;
}

}  // namespace torl
