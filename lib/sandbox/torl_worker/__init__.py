"""torl sandbox worker: serves Python snippets, one JSON line in, one JSON line out.

Started by lib/sandbox/worker-process.ts as `python <this directory> <JSON config>`
(__main__.py). Protocol on stdin/stdout (the worker moves them to private descriptors
and points fds 0/1 at /dev/null, so a stray print never corrupts it):

  -> {"id", "code", "timeoutMs", "memoryMb", "stdin", "files"}
  <- {"id", "status", "returnCode", "stdout", "stderr", "wallMs", "cpuMs", "truncated"}
  <- {"warm": true}      after each response, once the next child is forked

In namespaces mode the worker first boxes itself in (box.py: new namespaces, a read-only
root, PID 1 of its box; its first process stays outside as a monitor). Then two
processes: the worker (this package's first process: protocol, supervision, output,
clean-up; it never imports the preload modules) and its zygote, forked at start, which
imports the preload modules, warms them up, freezes the GC heap and then only forks.
The worker writes {"ready": true, ...} with what the zygote found. Each request runs in a
fresh child forked ahead of time ("spare") by the zygote as the *worker's* child
(clone with CLONE_PARENT): the spare hands the worker its ends of four pipes over a
socket, starts its own session, waits for its request, then limits itself (rlimits,
scratch cwd, scrubbed env, uid drop, no-new-privs, seccomp) and runs the code. The worker
is the spare's parent and a child subreaper, so it reaps the spare and finds and kills
everything the snippet spawns when the request ends.

Page faults are most of a small snippet's cost: after a fork every page either side
first writes is copied on a fault, and on paravirtualised machines a fault costs 10-20
us. Hence the split: the zygote's loop is one read and one clone, so it writes a few
pages per fork, while the worker, whose per-request Python code writes hundreds of
pages, shares its memory with no one. And the Prefault learner measures which pages the
children write and has every spare copy them as soon as it is forked (process_madvise):
~6 us a page here instead of a ~17 us fault, and off the critical path.

The modules, one job each:
  __main__       the entry: imports the package without leaving it on sys.path
  worker         the worker's main loop: protocol in and out, one spare per request
  box            the worker's own box (namespaces, read-only root, capabilities)
  zygote         the zygote (preload, then fork spares) and the worker's handle on it
  child          a spare's life: pipes, preparation, waiting, running, its status line
  limits         a child's setup and limits (scratch cwd, rlimits, uid drop, seccomp)
  snippet        runs the snippet's code like `python3 -c`
  serve          the worker's side of one request: output, deadline, status, clean-up
  cleanup        finding and killing what a request left behind
  prefault       the page learner and the copies ahead
  syscall_filter the seccomp filter, a BPF program assembled here
  base           constants, libc and descriptor helpers shared by the others

The snippet sees none of this: the package's directory is not on its sys.path and the
zygote drops the package's modules from sys.modules (their functions keep their own
globals), so a snippet's world is that of `python3 -c`.
"""
