// The compute pool. One region at a time: the caller publishes (fn, n), bumps
// a generation counter, and every worker (and the caller) claims indices from
// an atomic counter until none are left. Workers sleep on a condition
// variable between regions.
#include "torl/threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace torl {

namespace {

thread_local bool tl_in_region = false;

class Pool {
 public:
  explicit Pool(int size) : size_(size) {
    for (int t = 1; t < size_; ++t) workers_.emplace_back([this, t] { loop(t); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return size_; }

  void run(int64_t n, const std::function<void(int64_t, int)>& fn) {
    if (n <= 0) return;
    if (tl_in_region || size_ == 1 || n == 1) {
      const bool was = tl_in_region;
      tl_in_region = true;
      for (int64_t i = 0; i < n; ++i) fn(i, 0);
      tl_in_region = was;
      return;
    }
    std::lock_guard<std::mutex> region(region_m_);  // one region at a time
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      done_.store(0);
      ++gen_;
    }
    cv_.notify_all();
    tl_in_region = true;
    work(0);
    tl_in_region = false;
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return done_.load() == n_; });
    fn_ = nullptr;
  }

 private:
  void work(int tid) {
    int64_t finished = 0;
    for (;;) {
      const int64_t i = next_.fetch_add(1);
      if (i >= n_) break;
      (*fn_)(i, tid);
      ++finished;
    }
    if (finished && done_.fetch_add(finished) + finished == n_) {
      std::lock_guard<std::mutex> lk(m_);
      done_cv_.notify_all();
    }
  }
  void loop(int tid) {
    tl_in_region = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || gen_ != seen; });
        if (stop_) return;
        seen = gen_;
        if (!fn_) continue;
      }
      work(tid);
    }
  }

  const int size_;
  std::vector<std::thread> workers_;
  std::mutex region_m_, m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0}, done_{0};
  uint64_t gen_ = 0;
  bool stop_ = false;
};

int configured_size() {
  if (const char* s = std::getenv("TORL_NUM_THREADS")) {
    const int v = std::atoi(s);
    if (v > 0) return v;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

Pool& pool() {
  static Pool* p = new Pool(configured_size());  // never destroyed: workers may outlive static teardown
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void parallel_for(int64_t n, const std::function<void(int64_t, int)>& fn) { pool().run(n, fn); }

}  // namespace torl
