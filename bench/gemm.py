# Reference for bench/gemm.ts: numpy's BLAS (OpenBLAS) on the same shapes and layout
# (x[N, K] @ w[M, K].T), timed the same way (median after warm-up). Reads
# {"shapes": [[N, K, M], ...], "min_seconds": s} on stdin; prints JSON.
import ctypes, glob, json, os, sys, time

import numpy as np


def corename():
    """The OpenBLAS kernel family numpy's bundled library picked at run time."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*.so*"))
    for lib in libs:
        so = ctypes.CDLL(lib)
        for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_", "openblas_get_corename"):
            if hasattr(so, sym):
                f = getattr(so, sym)
                f.restype = ctypes.c_char_p
                return f().decode()
    return "unknown"


def timeit(fn, min_seconds):
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_seconds and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


cfg = json.load(sys.stdin)
rng = np.random.default_rng(0)
out = []
for n, k, m in cfg["shapes"]:
    x = rng.standard_normal((n, k), dtype=np.float32)
    w = rng.standard_normal((m, k), dtype=np.float32)
    out.append(timeit(lambda: x @ w.T, cfg["min_seconds"]))
print(json.dumps({"seconds": out, "numpy": np.__version__, "core": corename()}))
