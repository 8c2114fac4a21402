// The SandboxFusion client against a fake /run_code server on 127.0.0.1.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { SandboxFusionClient } from '../../lib/sandbox/index.js';

interface Seen {
  body: Record<string, unknown>;
}

/** A fake SandboxFusion: runs nothing, answers from the code text. */
function fakeServer() {
  const seen: Seen[] = [];
  let active = 0;
  let maxActive = 0;
  let flaky = 0; // the next `flaky` requests get their connection dropped
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', async () => {
      if (req.url !== '/run_code') {
        res.writeHead(404).end('not found');
        return;
      }
      if (flaky > 0) {
        flaky--;
        req.socket.destroy();
        return;
      }
      const body = JSON.parse(data) as Record<string, unknown>;
      seen.push({ body });
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      const code = String(body.code);
      const run = (status: string, return_code: number, stdout: string, stderr: string) => ({
        status: 'Success', message: '', compile_result: null,
        run_result: { status, execution_time: 0.25, return_code, stdout, stderr },
      });
      let out: unknown;
      if (code === 'loop') out = run('TimeLimitExceeded', -1, '', '');
      else if (code === 'fail') out = { ...run('Finished', 1, '', 'Traceback\nValueError: bad\n'), status: 'Failed' };
      else if (code === 'oom') out = { ...run('Finished', 1, '', 'Traceback\nMemoryError\n'), status: 'Failed' };
      else if (code === 'sandbox-error') out = { status: 'SandboxError', message: 'no pod', run_result: null };
      else if (code === 'big') out = run('Finished', 0, 'é'.repeat(100), '');
      else if (code === '500') {
        res.writeHead(500).end('boom');
        return;
      } else out = run('Finished', 0, `echo:${code}:${String(body.stdin)}`, '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  return {
    seen,
    stats: () => ({ maxActive }),
    dropNext: (n: number) => (flaky = n),
    listen: () => new Promise<string>((res) => server.listen(0, '127.0.0.1', () => res(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

t.test('SandboxFusion client', async (t) => {
  const fake = fakeServer();
  const url = await fake.listen();
  t.teardown(() => fake.close());
  const sb = new SandboxFusionClient({ url, concurrency: 3, retries: 2, retryDelayMs: 10, timeoutMs: 4000, memoryMb: 256, maxOutputBytes: 51 });

  const ok = await sb.run({ code: 'print(1)', stdin: 'in', files: { 'a.txt': 'hé' } });
  t.same([ok.status, ok.returnCode, ok.stdout, ok.wallMs, ok.truncated], ['ok', 0, 'echo:print(1):in', 250, false]);
  const body = fake.seen[0]!.body;
  t.same(body, { code: 'print(1)', language: 'python', run_timeout: 4, memory_limit_MB: 256, stdin: 'in', files: { 'a.txt': Buffer.from('hé').toString('base64') } });

  t.same([(await sb.run({ code: 'loop' })).status, (await sb.run({ code: 'fail' })).status, (await sb.run({ code: 'oom' })).status], ['timeout', 'error', 'oom']);
  const big = await sb.run({ code: 'big' });
  t.same([big.stdout, big.truncated], ['é'.repeat(25), true], 'cut at a character boundary under 51 bytes');

  // Connection drops are retried.
  fake.dropNext(2);
  const retried = await sb.run({ code: 'again' });
  t.same([retried.status, retried.stdout], ['ok', 'echo:again:']);

  // Server-side errors: retried, then answered `crashed` (never thrown).
  const before = fake.seen.length;
  const se = await sb.run({ code: 'sandbox-error' });
  t.equal(se.status, 'crashed');
  t.match(se.stderr, /failed after 3 attempts: SandboxError: no pod/);
  t.equal(fake.seen.length - before, 3, 'three attempts');
  t.match((await sb.run({ code: '500' })).stderr, /HTTP 500/);

  // Concurrency limit holds under 20 parallel runs.
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => sb.run({ code: `c${i}` })));
  t.same(many.map((r) => r.stdout), Array.from({ length: 20 }, (_, i) => `echo:c${i}:`));
  t.ok(fake.stats().maxActive <= 3, `at most 3 in flight (saw ${fake.stats().maxActive})`);
  t.equal(new Set(many.map((r) => r.id)).size, 20);

  await t.rejects(new SandboxFusionClient({ url: url + '/nowhere' }).run({ code: 'x' }), /HTTP 404/);
  await sb.close();
  await t.rejects(sb.run({ code: 'x' }), /after close/);
});

t.test('unreachable server: crashed after retries; bad options throw', async (t) => {
  const fake = fakeServer();
  const url = await fake.listen();
  await fake.close(); // nothing listens on that port now
  const sb = new SandboxFusionClient({ url, retries: 1, retryDelayMs: 5 });
  const r = await sb.run({ code: 'print(1)' });
  t.equal(r.status, 'crashed');
  t.match(r.stderr, /failed after 2 attempts: connection error \(ECONNREFUSED\)/);
  t.throws(() => new SandboxFusionClient({ url: 'localhost:8080' }), /"url"/);
  t.throws(() => new SandboxFusionClient({ url, concurrency: 0 }), /"concurrency"/);
});
