// Bindings:
//   grpoLoss(logp, oldLogp, advantages, mask, {refLogp, entropy, cuSeqlens, clipLow, clipHigh, dualClip,
//            clipRatioC, klCoef, klType, entropyCoef, aggregation})
//     → {loss, dlogp, dentropy?, pgLoss, klLoss, entropyLoss, clipFraction, clipFractionLower, approxKl,
//        klMean, entropyMean, ratioMean, ratioMax, tokens}
//   grpoAdvantages(rewards, {groupSize | groupIds, eps, normStd}) → advantages
#include <string>

#include "args.h"
#include "op_def.h"
#include "torl/error.h"
#include "torl/grpo.h"

namespace torl::napi {

namespace {


KlType kl_type(const std::string& s) {
  if (s == "k1" || s == "kl") return KlType::K1;
  if (s == "k2" || s == "mse") return KlType::K2;
  if (s == "k3" || s == "low_var_kl") return KlType::K3;
  fail("grpoLoss: option klType must be 'k1' ('kl'), 'k2' ('mse') or 'k3' ('low_var_kl'), got '", s, "'");
}

LossAgg loss_agg(const std::string& s) {
  if (s == "token-mean") return LossAgg::TokenMean;
  if (s == "seq-mean-token-sum") return LossAgg::SeqMeanTokenSum;
  if (s == "seq-mean-token-mean") return LossAgg::SeqMeanTokenMean;
  fail("grpoLoss: option aggregation must be 'token-mean', 'seq-mean-token-sum' or 'seq-mean-token-mean', got '", s,
       "'");
}

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "grpoLoss", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "grpoLoss";
    const Tensor lp = tensor_arg(info, 0, op, "logp");
    const Tensor old = tensor_arg(info, 1, op, "oldLogp");
    const Tensor adv = tensor_arg(info, 2, op, "advantages");
    const Tensor mask = tensor_arg(info, 3, op, "mask");
    const Napi::Object opts = options_arg(info, 4, op);
    const Tensor ref = held(opt_tensor(opts, "refLogp", op));
    const Tensor ent = held(opt_tensor(opts, "entropy", op));
    const Tensor cu = held(opt_tensor(opts, "cuSeqlens", op));
    GrpoLossOptions o;
    o.clip_low = opt_number(opts, "clipLow", o.clip_low, op);
    o.clip_high = opt_number(opts, "clipHigh", o.clip_high, op);
    o.dual_clip = opt_bool(opts, "dualClip", o.dual_clip, op);
    o.clip_ratio_c = opt_number(opts, "clipRatioC", o.clip_ratio_c, op);
    o.kl_coef = opt_number(opts, "klCoef", o.kl_coef, op);
    if (auto s = opt_string(opts, "klType", op)) o.kl_type = kl_type(*s);
    o.entropy_coef = opt_number(opts, "entropyCoef", o.entropy_coef, op);
    if (auto s = opt_string(opts, "aggregation", op)) o.agg = loss_agg(*s);
    grpo_loss_check(lp, old, adv, mask, maybe(ref), maybe(ent), maybe(cu), o);
    return [lp, old, adv, mask, ref, ent, cu, o] {
      GrpoLossOut g = grpo_loss(lp, old, adv, mask, maybe(ref), maybe(ent), maybe(cu), o);
      OpResult r;
      r.add("dlogp", std::move(g.dlogp)).add("dentropy", std::move(g.dentropy));
      r.add("loss", g.loss).add("pgLoss", g.pg_loss).add("klLoss", g.kl_loss).add("entropyLoss", g.entropy_loss);
      r.add("clipFraction", g.clip_fraction).add("clipFractionLower", g.clip_fraction_lower);
      r.add("approxKl", g.approx_kl).add("klMean", g.kl_mean).add("entropyMean", g.entropy_mean);
      r.add("ratioMean", g.ratio_mean).add("ratioMax", g.ratio_max).add("tokens", g.tokens);
      return r;
    };
  });
  def_op(env, exports, "grpoAdvantages", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "grpoAdvantages";
    const Tensor rewards = tensor_arg(info, 0, op, "rewards");
    const Napi::Object opts = options_arg(info, 1, op);
    const Tensor ids = held(opt_tensor(opts, "groupIds", op));
    GrpoAdvantagesOptions o;
    o.group_size = opt_int(opts, "groupSize", 0, op);
    o.eps = opt_number(opts, "eps", o.eps, op);
    o.norm_std = opt_bool(opts, "normStd", o.norm_std, op);
    grpo_advantages_check(rewards, maybe(ids), o);
    return [rewards, ids, o] { return OpResult::one(grpo_advantages(rewards, maybe(ids), o)); };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
