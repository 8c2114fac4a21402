// A client for a SandboxFusion server (POST /run_code), with the local sandbox's interface.
import { checkPositive, failure, resolveRequest, type ResolvedRequest } from './request.js';
import type { CodeRunner, RunRequest, RunResult, RunStatus } from './types.js';

export interface SandboxFusionOptions {
  /** Server root, e.g. http://sandbox:8080 (the client posts to `${url}/run_code`). */
  url: string;
  /** Requests in flight at once. Default 32. */
  concurrency?: number;
  /** Retries after a connection error, an HTTP 5xx, a SandboxError or a request timeout. Default 3. */
  retries?: number;
  /** First back-off between attempts, ms, doubled each time. Default 200. */
  retryDelayMs?: number;
  /** Default run timeout, ms. Default 10000. */
  timeoutMs?: number;
  /** Default memory limit, MiB. Default 1024. */
  memoryMb?: number;
  /** HTTP time allowed beyond the run timeout before an attempt counts as timed out, ms. Default 10000. */
  httpGraceMs?: number;
  /** Bytes kept of stdout and of stderr each (the server's own limits apply first). Default 65536. */
  maxOutputBytes?: number;
}

/** The parts of SandboxFusion's RunCodeResponse the client reads. */
interface FusionResponse {
  status?: string;
  message?: string;
  run_result?: {
    status?: string;
    execution_time?: number | null;
    return_code?: number | null;
    stdout?: string | null;
    stderr?: string | null;
  } | null;
}

/** An attempt that may succeed if repeated. */
class Retryable extends Error {}

/**
 * SandboxFusion as a CodeRunner: same `run`/`close` as PythonSandbox, for users who run
 * SandboxFusion as a fleet. Limits concurrency, retries transient failures, and answers
 * `crashed` (never throws) once the retries are spent.
 */
export class SandboxFusionClient implements CodeRunner {
  private readonly endpoint: string;
  private readonly o: Required<Omit<SandboxFusionOptions, 'url'>>;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inflight = new Set<AbortController>();
  private closed = false;
  private nextId = 1;

  constructor(options: SandboxFusionOptions) {
    if (typeof options?.url !== 'string' || !/^https?:\/\//.test(options.url)) {
      throw new TypeError(`SandboxFusionClient: "url" must be an http(s) URL, got ${JSON.stringify(options?.url)}`);
    }
    this.endpoint = options.url.replace(/\/+$/, '') + '/run_code';
    this.o = {
      concurrency: options.concurrency ?? 32,
      retries: options.retries ?? 3,
      retryDelayMs: options.retryDelayMs ?? 200,
      timeoutMs: options.timeoutMs ?? 10_000,
      memoryMb: options.memoryMb ?? 1024,
      httpGraceMs: options.httpGraceMs ?? 10_000,
      maxOutputBytes: options.maxOutputBytes ?? 65536,
    };
    for (const k of ['concurrency', 'maxOutputBytes'] as const) {
      if (!Number.isInteger(this.o[k]) || this.o[k] < 1) throw new RangeError(`SandboxFusionClient: "${k}" must be a positive integer, got ${this.o[k]}`);
    }
    if (!Number.isInteger(this.o.retries) || this.o.retries < 0) throw new RangeError(`SandboxFusionClient: "retries" must be an integer ≥ 0, got ${this.o.retries}`);
    checkPositive('timeoutMs', this.o.timeoutMs, 3_600_000);
    checkPositive('memoryMb', this.o.memoryMb, 1 << 20);
  }

  /** Runs one snippet on the server. Rejects only on bad input, after close(), or on an
   *  HTTP 4xx (a request the server will never accept). */
  async run(request: RunRequest): Promise<RunResult> {
    const req = resolveRequest(request, this.o);
    if (this.closed) throw new Error('SandboxFusionClient: run() after close()');
    const id = this.nextId++;
    await this.acquire();
    try {
      let last = '';
      for (let attempt = 0; attempt <= this.o.retries; attempt++) {
        if (attempt > 0) await sleep(this.o.retryDelayMs * 2 ** (attempt - 1));
        if (this.closed) return failure(id, 'SandboxFusionClient closed during the request');
        try {
          return this.toResult(id, await this.post(req));
        } catch (e) {
          if (!(e instanceof Retryable)) throw e;
          last = e.message;
        }
      }
      return failure(id, `SandboxFusion request failed after ${this.o.retries + 1} attempts: ${last}`);
    } finally {
      this.release();
    }
  }

  /** Aborts requests in flight (they answer `crashed`) and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.inflight) c.abort();
  }

  private async post(req: ResolvedRequest): Promise<FusionResponse> {
    const body = {
      code: req.code,
      language: 'python',
      run_timeout: req.timeoutMs / 1000,
      memory_limit_MB: Math.ceil(req.memoryMb),
      stdin: req.stdin,
      files: Object.fromEntries(Object.entries(req.files).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
    };
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), req.timeoutMs + this.o.httpGraceMs);
    this.inflight.add(ctl);
    try {
      let res: Response;
      try {
        res = await fetch(this.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: ctl.signal,
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        throw new Retryable(ctl.signal.aborted ? 'HTTP request timed out' : `connection error (${cause ?? (e as Error).message})`);
      }
      const text = await res.text().catch((e: Error) => {
        throw new Retryable(`reading the response: ${e.message}`);
      });
      if (res.status >= 500) throw new Retryable(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      if (!res.ok) throw new Error(`SandboxFusion ${this.endpoint}: HTTP ${res.status}: ${text.slice(0, 500)}`);
      let json: FusionResponse;
      try {
        json = JSON.parse(text) as FusionResponse;
      } catch {
        throw new Retryable(`unparsable response: ${text.slice(0, 200)}`);
      }
      if (json.status === 'SandboxError') throw new Retryable(`SandboxError: ${json.message ?? ''}`);
      return json;
    } finally {
      clearTimeout(timer);
      this.inflight.delete(ctl);
    }
  }

  private toResult(id: number, r: FusionResponse): RunResult {
    const run = r.run_result;
    if (!run) return failure(id, `SandboxFusion returned no run result (status ${r.status}: ${r.message ?? ''})`);
    const [stdout, outCut] = capBytes(run.stdout ?? '', this.o.maxOutputBytes);
    const [stderr, errCut] = capBytes(run.stderr ?? '', this.o.maxOutputBytes);
    const code = run.return_code ?? null;
    let status: RunStatus;
    if (run.status === 'TimeLimitExceeded') status = 'timeout';
    else if (run.status !== 'Finished') status = 'crashed';
    else if (code === 0) status = 'ok';
    else if (/^MemoryError\b/m.test(stderr)) status = 'oom';
    else status = code !== null && code < 0 ? 'killed' : 'error';
    const wall = run.execution_time;
    return { id, status, returnCode: code, stdout, stderr, wallMs: typeof wall === 'number' ? wall * 1000 : 0, cpuMs: null, truncated: outCut || errCut };
  }

  private acquire(): Promise<void> {
    if (this.active < this.o.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((res) => this.waiting.push(res));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** `text` cut to at most `limit` UTF-8 bytes, at a character boundary. */
function capBytes(text: string, limit: number): [string, boolean] {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= limit) return [text, false];
  let end = limit;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return [buf.subarray(0, end).toString('utf8'), true];
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
