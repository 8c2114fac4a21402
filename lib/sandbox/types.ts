// The data every sandbox backend speaks: the request a rollout sends, the result it gets.

/** How a run ended. `ok`: exit code 0. `error`: non-zero exit (an uncaught exception,
 *  sys.exit(n)). `timeout`: the wall-clock or CPU limit was hit and the process group
 *  killed. `killed`: ended by a signal it did not cause by crashing (SIGKILL, SIGTERM…).
 *  `crashed`: a fatal signal (SIGSEGV, SIGABRT…), or the worker running it died.
 *  `oom`: the snippet ran out of its memory limit (uncaught MemoryError). */
export type RunStatus = 'ok' | 'error' | 'timeout' | 'killed' | 'crashed' | 'oom';

/** One snippet to run. Limits left out take the sandbox's defaults. */
export interface RunRequest {
  /** Python source, run as `python3 -c code` would run it. */
  code: string;
  /** Wall-clock limit in ms (the CPU limit is the same, rounded up to whole seconds). */
  timeoutMs?: number;
  /** Memory the snippet may allocate, in MiB, on top of the preloaded interpreter. */
  memoryMb?: number;
  /** Text fed to the snippet's standard input. */
  stdin?: string;
  /** Files written into the snippet's scratch directory (its cwd) before it starts:
   *  relative path → UTF-8 text. */
  files?: Record<string, string>;
}

/** The outcome of one run. */
export interface RunResult {
  id: number;
  status: RunStatus;
  /** The exit code; minus the signal number when a signal ended it; null when the run
   *  never started (setup failure, dead worker, unreachable server). */
  returnCode: number | null;
  /** Captured output, decoded as UTF-8 with each invalid byte replaced by U+FFFD. */
  stdout: string;
  stderr: string;
  wallMs: number;
  /** CPU time of the snippet and the children it waited for; null when unknown. */
  cpuMs: number | null;
  /** True when stdout or stderr went past the byte limit and the excess was dropped. */
  truncated: boolean;
}

/** What the rollout needs from a sandbox: the local pool and the SandboxFusion client
 *  both implement it. */
export interface CodeRunner {
  run(request: RunRequest): Promise<RunResult>;
  close(): Promise<void>;
}
