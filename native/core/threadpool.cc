// The compute pool. One region at a time: the caller publishes (fn, n), bumps
// a generation counter, and every worker (and the caller) claims indices from
// an atomic counter until none are left. Between regions a worker spins for a
// short while (kSpinIters pause instructions, ~0.5 ms here) before it sleeps on a
// condition variable, and the caller spins the same way before it sleeps on
// the last index: waking a sleeping thread costs tens of µs (hundreds on a
// paravirtualised VM), as much as a whole decode-sized GEMV, and back-to-back
// regions are the common case in a forward pass.
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

constexpr int kSpinIters = 20000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until pred() holds or the budget is spent; returns pred(). Yields now and
// then so that a pool larger than the machine's cores (TORL_NUM_THREADS) does not
// spin on a core that a working thread needs.
template <class Pred>
bool spin_until(Pred pred) {
  for (int i = 1; i <= kSpinIters; ++i) {
    if (pred()) return true;
    cpu_relax();
    if (i % 256 == 0) std::this_thread::yield();
  }
  return pred();
}

class Pool {
 public:
  explicit Pool(int size) : size_(size) {
    for (int t = 1; t < size_; ++t) workers_.emplace_back([this, t] { loop(t); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
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
      gen_.fetch_add(1);  // spinners see it change, then read (fn_, n_) under m_
    }
    if (sleepers_.load() > 0) cv_.notify_all();
    tl_in_region = true;
    work(0, &fn, n);
    tl_in_region = false;
    if (!spin_until([&] { return done_.load(std::memory_order_acquire) == n; })) {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return done_.load() == n; });
    }
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = nullptr;  // no worker enters this region now
    }
    // Workers already inside hold `fn` (on this caller's stack) and are about to find
    // the counter exhausted; the next region may reset it only once they have left.
    while (inside_.load(std::memory_order_acquire) != 0) cpu_relax();
  }

 private:
  // Claims indices of the current region until none are left. fn: [n) -> void.
  void work(int tid, const std::function<void(int64_t, int)>* fn, int64_t n) {
    int64_t finished = 0;
    for (;;) {
      const int64_t i = next_.fetch_add(1);
      if (i >= n) break;
      (*fn)(i, tid);
      ++finished;
    }
    if (finished && done_.fetch_add(finished, std::memory_order_acq_rel) + finished == n) {
      std::lock_guard<std::mutex> lk(m_);  // the caller may be asleep on done_cv_
      done_cv_.notify_all();
    }
  }
  void loop(int tid) {
    tl_in_region = true;
    uint64_t seen = 0;
    for (;;) {
      if (!spin_until([&] { return gen_.load(std::memory_order_acquire) != seen || stop_.load(); })) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_.fetch_add(1);
        cv_.wait(lk, [&] { return stop_.load() || gen_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      if (stop_.load()) return;
      std::unique_lock<std::mutex> lk(m_);  // (fn, n) of the generation seen, if still open
      seen = gen_.load();
      const auto* fn = fn_;
      const int64_t n = n_;
      if (!fn) continue;  // that region already ended
      inside_.fetch_add(1);
      lk.unlock();
      work(tid, fn, n);
      inside_.fetch_sub(1, std::memory_order_release);
    }
  }

  const int size_;
  std::vector<std::thread> workers_;
  std::mutex region_m_, m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int)>* fn_ = nullptr;  // guarded by m_
  int64_t n_ = 0;                                          // guarded by m_
  std::atomic<int64_t> next_{0}, done_{0};
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> sleepers_{0}, inside_{0};
  std::atomic<bool> stop_{false};
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
