// The compute thread pool: `size` threads (TORL_NUM_THREADS, default the
// number of cores) that split one parallel region at a time. Separate from
// libuv's pool, so file and child-process I/O keep flowing while kernels run.
#pragma once
#include <cstdint>
#include <functional>

namespace torl {

int num_threads();
// Calls fn(i, thread_id) for i in [0, n), spread over the pool; returns when
// all are done. The calling thread takes part. Regions from different calling
// threads are serialised; a region started from inside a region runs inline.
void parallel_for(int64_t n, const std::function<void(int64_t, int)>& fn);

}  // namespace torl
