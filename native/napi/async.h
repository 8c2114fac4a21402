// The compute runner: async ops run here, one at a time, each spreading its
// work over the compute pool. Results return to the JS thread through one
// thread-safe function, which is ref'ed only while jobs are pending, so an
// idle runner never keeps the process alive.
#pragma once
#include <napi.h>

#include "op_def.h"

namespace torl::napi {

void init_runner(Napi::Env env);
// Queues `work`; the promise resolves with its result or rejects with its error.
Napi::Promise run_async(Napi::Env env, Compute work);

}  // namespace torl::napi
