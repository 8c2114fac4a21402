// The Python sandbox in a few lines: a warm pool, a sympy snippet, a crash and a timeout that are
// results (never exceptions), and the observation text the rollout feeds back to the model.
//
//   npx tsx examples/sandbox.ts
//
// In your own project: import * as torl from 'torl'.
import * as torl from '../lib/index.js';

const sb = new torl.PythonSandbox({ workers: 2, timeoutMs: 2000 });
try {
  const info = await sb.info();
  console.log(`isolation ${info.isolation}, python ${info.python.version}, secure: ${info.guarantees.secure}`);
  const runs = await Promise.all([
    sb.run({ code: "import sympy as s\nx = s.Symbol('x')\nprint(s.solve(x**2 - 4, x))" }),
    sb.run({ code: 'print(1 / 0)' }),
    sb.run({ code: 'while True: pass', timeoutMs: 300 }),
  ]);
  for (const r of runs) console.log(`${r.status.padEnd(7)} ${r.wallMs.toFixed(0).padStart(5)} ms  observation: ${JSON.stringify(torl.formatObservation(r))}`);
} finally {
  await sb.close();
}
