#include "async.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace torl::napi {

namespace {

struct Job {
  Compute work;
  Napi::Promise::Deferred deferred;
  OpResult result;
  std::string error;
  bool failed = false;
};

class Runner {
 public:
  explicit Runner(Napi::Env env) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function(), "torl-compute", 0, 1);
    tsfn_.Unref(env);
    thread_ = std::thread([this] { loop(); });
  }
  ~Runner() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    tsfn_.Release();
  }

  void submit(Napi::Env env, Job* job) {
    if (pending_++ == 0) tsfn_.Ref(env);
    {
      std::lock_guard<std::mutex> lk(m_);
      queue_.push_back(job);
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = queue_.front();
        queue_.pop_front();
      }
      try {
        job->result = job->work();
      } catch (const std::exception& e) {
        job->failed = true;
        job->error = e.what();
      } catch (...) {
        job->failed = true;
        job->error = "unknown native error";
      }
      tsfn_.NonBlockingCall(job, [this](Napi::Env env, Napi::Function, Job* j) { finish(env, j); });
    }
  }

  void finish(Napi::Env env, Job* job) {
    {
      Napi::HandleScope scope(env);
      if (job->failed) {
        job->deferred.Reject(Napi::Error::New(env, job->error).Value());
      } else {
        try {
          job->deferred.Resolve(job->result.to_js(env));
        } catch (const std::exception& e) {
          job->deferred.Reject(Napi::Error::New(env, e.what()).Value());
        }
      }
    }
    delete job;  // drops the job's tensor references here, on the JS thread
    if (--pending_ == 0) tsfn_.Unref(env);
  }

  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stop_ = false;
  int pending_ = 0;  // touched on the JS thread only
};

}  // namespace

void init_runner(Napi::Env env) { env.SetInstanceData<Runner>(new Runner(env)); }

Napi::Promise run_async(Napi::Env env, Compute work) {
  Job* job = new Job{std::move(work), Napi::Promise::Deferred::New(env), {}, {}, false};
  Napi::Promise p = job->deferred.Promise();
  env.GetInstanceData<Runner>()->submit(env, job);
  return p;
}

}  // namespace torl::napi
