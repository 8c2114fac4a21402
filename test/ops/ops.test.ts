// Runs the whole op table on every backend (see table.ts).
import t from 'tap';

import { cases } from './cases/index.js';
import { devices, firstFailure } from './table.js';

for (const { device, skip } of devices()) {
  t.test(`ops on ${device}`, { skip: skip ?? false }, async (t) => {
    for (const c of cases) {
      const checks = await c.run(device);
      t.equal(firstFailure(checks), null, `${c.op} ${c.name} [${device}]: ${Object.keys(checks).join(', ')}`);
    }
  });
}
