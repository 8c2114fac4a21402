// Bindings (registered as the module export Qwen2Model):
//   new Qwen2Model(config, {device, dtype})       config: the ModelConfig size fields
//   specs() → [{name, shape}];  setWeight(name, tensor);  weight(name) → Tensor (shared memory)
//   checkWeights();  gradients() → {name: Tensor};  zeroGrad();  device;  dtype
//   logprobs(batch, {temperature, microBatchTokens}) → Promise<{logprob, entropy, microBatches, peakActivationBytes}>
//   forwardBackward(batch, spec) → Promise<{loss, tokens, …stats, microBatches, peakActivationBytes}>
//   generateStep({k, v}: per-layer cache tensors, step) → Promise<{ids, logprob, tempLogprob}>
//     step = {tokens, cuSeqlens, contextLens, blockTables, copySrc, copyDst, sampleSeqs: i32 host tensors,
//             temperature, topK, topP, minP, seed, offset: one per sampled row (see ops.sample),
//             weightVersion (CPU: the linear weights packed once per version; −1, the default: per call),
//             vocab (sample among ids [0, vocab) only; 0, the default: all)}
// batch = {tokens, positions, cuSeqlens, targets: i32 host tensors, mask: f32 host tensor}.
#include "model_wrap.h"

#include "args.h"
#include "async.h"
#include "op_def.h"
#include "tensor_wrap.h"
#include "torl/error.h"

namespace torl::napi {

namespace {

int64_t need_int(const Napi::Object& o, const char* key) {
  TORL_CHECK(o.Has(key) && o.Get(key).IsNumber(), "Model: config field ", key, " must be a number");
  return opt_int(o, key, 0, "Model");
}

model::Batch batch_arg(const Napi::CallbackInfo& info, const char* op) {
  TORL_CHECK(info.Length() > 0 && info[0].IsObject(), op, ": expects a batch object");
  const Napi::Object o = info[0].As<Napi::Object>();
  auto need = [&](const char* key) {
    const Tensor* t = opt_tensor(o, key, op);
    TORL_CHECK(t, op, ": batch.", key, " is required");
    return *t;
  };
  return model::Batch{need("tokens"), need("positions"), need("cuSeqlens"), need("targets"), need("mask")};
}

model::StepOptions step_options(const Napi::Object& o, const char* op) {
  model::StepOptions s;
  s.micro_batch_tokens = opt_int(o, "microBatchTokens", 0, op);
  TORL_CHECK(s.micro_batch_tokens >= 0, op, ": microBatchTokens must be ≥ 0, got ", s.micro_batch_tokens);
  s.recompute = opt_bool(o, "recompute", false, op);
  return s;
}

double temperature_arg(const Napi::Object& o, const char* op) {
  const double t = opt_number(o, "temperature", 1.0, op);
  TORL_CHECK(t > 0, op, ": temperature must be > 0, got ", t);
  return t;
}

// A per-token host f32 tensor of the batch's length.
Tensor per_token(const Napi::Object& o, const char* key, int64_t T, bool required, const char* op) {
  const Tensor* t = opt_tensor(o, key, op);
  TORL_CHECK(t || !required, op, ": ", key, " is required for the GRPO loss");
  if (!t) return {};
  TORL_CHECK(t->dtype == DType::F32 && t->ndim() == 1 && t->dim(0) == T && t->device().is_cpu(), op, ": ", key,
             " must be a host f32 tensor of ", T, " entries (one per token), got ", dtype_name(t->dtype), " ",
             t->shape_str());
  return *t;
}

}  // namespace

Napi::Function JsModel::Define(Napi::Env env) {
  return DefineClass(env, "Qwen2Model",
                     {
                         InstanceMethod<&JsModel::Specs>("specs"),
                         InstanceMethod<&JsModel::SetWeight>("setWeight"),
                         InstanceMethod<&JsModel::Weight>("weight"),
                         InstanceMethod<&JsModel::CheckWeights>("checkWeights"),
                         InstanceMethod<&JsModel::Gradients>("gradients"),
                         InstanceMethod<&JsModel::ZeroGrad>("zeroGrad"),
                         InstanceMethod<&JsModel::Logprobs>("logprobs"),
                         InstanceMethod<&JsModel::ForwardBackward>("forwardBackward"),
                         InstanceMethod<&JsModel::GenerateStep>("generateStep"),
                         InstanceAccessor<&JsModel::DeviceName>("device"),
                         InstanceAccessor<&JsModel::DTypeName>("dtype"),
                     });
}

JsModel::JsModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsModel>(info) {
  TORL_CHECK(info.Length() > 0 && info[0].IsObject(), "Model: expects (config, {device, dtype})");
  const Napi::Object c = info[0].As<Napi::Object>();
  const Napi::Object o = options_arg(info, 1, "Model");
  model::Qwen2Config cfg;
  cfg.hidden = need_int(c, "hiddenSize");
  cfg.intermediate = need_int(c, "intermediateSize");
  cfg.layers = need_int(c, "numHiddenLayers");
  cfg.heads = need_int(c, "numAttentionHeads");
  cfg.kv_heads = need_int(c, "numKeyValueHeads");
  cfg.head_dim = need_int(c, "headDim");
  cfg.vocab = need_int(c, "vocabSize");
  cfg.max_positions = need_int(c, "maxPositionEmbeddings");
  cfg.rope_theta = opt_number(c, "ropeTheta", cfg.rope_theta, "Model");
  cfg.eps = opt_number(c, "rmsNormEps", cfg.eps, "Model");
  cfg.tied = opt_bool(c, "tieWordEmbeddings", cfg.tied, "Model");
  const Device device = Device::parse(opt_string(o, "device", "Model").value_or("cpu"));
  const DType dtype = dtype_from_name(opt_string(o, "dtype", "Model").value_or(device.is_cpu() ? "f32" : "bf16"));
  m_ = std::make_shared<model::Qwen2>(cfg, device, dtype);
}

Napi::Value JsModel::Specs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& specs = m_->parameter_specs();
  Napi::Array out = Napi::Array::New(env, specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    Napi::Object s = Napi::Object::New(env);
    s.Set("name", specs[i].first);
    Napi::Array shape = Napi::Array::New(env, specs[i].second.size());
    for (size_t d = 0; d < specs[i].second.size(); ++d) shape.Set(d, static_cast<double>(specs[i].second[d]));
    s.Set("shape", shape);
    out.Set(i, s);
  }
  return out;
}

Napi::Value JsModel::SetWeight(const Napi::CallbackInfo& info) {
  TORL_CHECK(info.Length() > 1 && info[0].IsString(), "Model.setWeight: expects (name, tensor)");
  m_->set_weight(info[0].As<Napi::String>().Utf8Value(), tensor_arg(info, 1, "Model.setWeight", "tensor"));
  return info.Env().Undefined();
}

Napi::Value JsModel::Weight(const Napi::CallbackInfo& info) {
  TORL_CHECK(info.Length() > 0 && info[0].IsString(), "Model.weight: expects a parameter name");
  return JsTensor::New(info.Env(), m_->weight(info[0].As<Napi::String>().Utf8Value()));
}

Napi::Value JsModel::CheckWeights(const Napi::CallbackInfo& info) {
  m_->check_complete();
  return info.Env().Undefined();
}

Napi::Value JsModel::Gradients(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  for (const auto& [name, g] : m_->gradients())
    if (g.defined()) out.Set(name, JsTensor::New(info.Env(), g));
  return out;
}

Napi::Value JsModel::ZeroGrad(const Napi::CallbackInfo& info) {
  m_->zero_grad();
  return info.Env().Undefined();
}

Napi::Value JsModel::Logprobs(const Napi::CallbackInfo& info) {
  const char* op = "Model.logprobs";
  const model::Batch b = batch_arg(info, op);
  const Napi::Object o = options_arg(info, 1, op);
  const double temperature = temperature_arg(o, op);
  const model::StepOptions so = step_options(o, op);
  m_->check_batch(b, op);
  m_->check_complete();
  return run_async(info.Env(), [m = m_, b, temperature, so] {
    model::LogprobResult r = m->logprobs(b, temperature, so);
    OpResult out;
    out.add("logprob", std::move(r.logprob)).add("entropy", std::move(r.entropy));
    out.add("microBatches", static_cast<double>(r.micro_batches));
    out.add("peakActivationBytes", static_cast<double>(r.peak_activation_bytes));
    return out;
  });
}

// spec: {kind: 'crossEntropy' | 'grpo', temperature, microBatchTokens, recompute,
//        oldLogprobs, advantages, refLogprobs (host f32 [T]), clipLow, clipHigh, dualClip, clipRatioC,
//        klCoef, klType (0 k1, 1 k2, 2 k3), entropyCoef, aggregation (0 token-mean, 1 seq-mean-token-sum,
//        2 seq-mean-token-mean), normTokens, normSequences (the whole step's, when this batch is a part)}
Napi::Value JsModel::ForwardBackward(const Napi::CallbackInfo& info) {
  const char* op = "Model.forwardBackward";
  const model::Batch b = batch_arg(info, op);
  const Napi::Object o = options_arg(info, 1, op);
  m_->check_batch(b, op);
  m_->check_complete();
  const model::StepOptions so = step_options(o, op);
  model::LossSpec spec;
  spec.temperature = temperature_arg(o, op);
  spec.norm_tokens = opt_number(o, "normTokens", 0, op);
  spec.norm_seqs = opt_int(o, "normSequences", 0, op);
  TORL_CHECK(spec.norm_tokens >= 0 && spec.norm_seqs >= 0, op, ": normalizer.tokens and normalizer.sequences must be ≥ 0, got ",
             spec.norm_tokens, " and ", spec.norm_seqs);
  const std::string kind = opt_string(o, "kind", op).value_or("");
  TORL_CHECK(kind == "grpo" || kind == "crossEntropy", op, ": loss kind must be 'grpo' or 'crossEntropy', got '",
             kind, "'");
  if (kind == "grpo") {
    const int64_t T = b.tokens.dim(0);
    spec.kind = model::LossSpec::Kind::Grpo;
    spec.old_logp = per_token(o, "oldLogprobs", T, true, op);
    spec.advantages = per_token(o, "advantages", T, true, op);
    spec.ref_logp = per_token(o, "refLogprobs", T, false, op);
    GrpoLossOptions& g = spec.grpo;
    g.clip_low = opt_number(o, "clipLow", g.clip_low, op);
    g.clip_high = opt_number(o, "clipHigh", g.clip_high, op);
    g.dual_clip = opt_bool(o, "dualClip", g.dual_clip, op);
    g.clip_ratio_c = opt_number(o, "clipRatioC", g.clip_ratio_c, op);
    g.kl_coef = opt_number(o, "klCoef", g.kl_coef, op);
    g.kl_type = static_cast<KlType>(opt_int(o, "klType", 2, op));
    g.entropy_coef = opt_number(o, "entropyCoef", g.entropy_coef, op);
    g.agg = static_cast<LossAgg>(opt_int(o, "aggregation", 0, op));
    const Tensor probe = empty({T}, DType::F32, Device{});  // validates the options and the KL inputs
    grpo_loss_check(probe, spec.old_logp, spec.advantages, b.mask, spec.ref_logp.defined() ? &spec.ref_logp : nullptr,
                    g.entropy_coef != 0 ? &probe : nullptr, &b.cu_seqlens, g);
  }
  return run_async(info.Env(), [m = m_, b, spec, so] {
    const model::StepResult r = m->forward_backward(b, spec, so);
    OpResult out;
    out.add("loss", r.loss).add("tokens", r.tokens);
    out.add("pgLoss", r.pg_loss).add("klLoss", r.kl_loss).add("entropyLoss", r.entropy_loss);
    out.add("clipFraction", r.clip_fraction).add("clipFractionLower", r.clip_fraction_lower);
    out.add("approxKl", r.approx_kl).add("klMean", r.kl_mean).add("entropyMean", r.entropy_mean);
    out.add("ratioMean", r.ratio_mean).add("ratioMax", r.ratio_max);
    out.add("microBatches", static_cast<double>(r.micro_batches));
    out.add("peakActivationBytes", static_cast<double>(r.peak_activation_bytes));
    return out;
  });
}

Napi::Value JsModel::GenerateStep(const Napi::CallbackInfo& info) {
  const char* op = "Model.generateStep";
  TORL_CHECK(info.Length() > 1 && info[0].IsObject() && info[1].IsObject(), op, ": expects (cache {k, v}, step)");
  const Napi::Object c = info[0].As<Napi::Object>(), o = info[1].As<Napi::Object>();
  model::KvCache cache{opt_tensor_list(c, "k", op), opt_tensor_list(c, "v", op)};
  auto need = [&](const char* key) {
    const Tensor* t = opt_tensor(o, key, op);
    TORL_CHECK(t, op, ": step.", key, " is required");
    return *t;
  };
  model::GenStep s{need("tokens"), need("cuSeqlens"), need("contextLens"), need("blockTables"),
                   need("copySrc"),  need("copyDst"),   need("sampleSeqs"),  {}};
  TORL_CHECK(s.sample_seqs.ndim() == 1, op, ": step.sampleSeqs must be 1-D");
  s.params = sample_params_arg(o, static_cast<size_t>(s.sample_seqs.dim(0)), "sampleSeqs", op);
  s.weight_version = opt_int(o, "weightVersion", -1, op);
  TORL_CHECK(s.weight_version >= -1, op, ": step.weightVersion must be ≥ −1, got ", s.weight_version);
  s.vocab = opt_int(o, "vocab", 0, op);
  TORL_CHECK(s.vocab >= 0, op, ": step.vocab must be ≥ 0, got ", s.vocab);
  m_->check_generate(cache, s, op);
  return run_async(info.Env(), [m = m_, cache, s] {
    model::GenResult r = m->generate_step(cache, s);
    OpResult out;
    out.add("ids", std::move(r.ids)).add("logprob", std::move(r.logprob)).add("tempLogprob", std::move(r.temp_logprob));
    return out;
  });
}

Napi::Value JsModel::DeviceName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), m_->device().str());
}

Napi::Value JsModel::DTypeName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(m_->dtype()));
}

namespace {

void define(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = JsModel::Define(env);
  auto* ref = new Napi::FunctionReference(Napi::Persistent(ctor));
  env.AddCleanupHook([ref] { delete ref; });
  exports.Set("Qwen2Model", ctor);
}

const RegisterExport reg(define);

}  // namespace

}  // namespace torl::napi
