// A tap-compatible subset over node:test, for machines where tap and its
// dependencies cannot be installed (the GPU machine has no registry access).
// scripts/gpu/bundle.mjs aliases 'tap' to this file when it bundles the tests.
import assert from 'node:assert/strict';
import { test as nodeTest } from 'node:test';

function api(ctx) {
  const counts = { pass: 0 };
  const ok = (fn) => (...args) => { fn(...args); counts.pass++; };
  return {
    equal: ok((a, b, msg) => assert.strictEqual(a, b, msg)),
    not: ok((a, b, msg) => assert.notStrictEqual(a, b, msg)),
    same: ok((a, b, msg) => assert.deepEqual(a, b, msg)),
    strictSame: ok((a, b, msg) => assert.deepStrictEqual(a, b, msg)),
    ok: ok((a, msg) => assert.ok(a, msg)),
    notOk: ok((a, msg) => assert.ok(!a, msg)),
    match: ok((a, re, msg) => (re instanceof RegExp ? assert.match(String(a), re, msg) : assert.ok(a !== undefined, msg))),
    type: ok((a, ty, msg) => assert.ok(typeof ty === 'string' ? typeof a === ty : a instanceof ty, msg)),
    throws: ok((fn, re, msg) => assert.throws(fn, re instanceof RegExp ? re : undefined, msg)),
    doesNotThrow: ok((fn, msg) => assert.doesNotThrow(fn, msg)),
    rejects: async (p, re, msg) => { await assert.rejects(typeof p === 'function' ? p() : p, re instanceof RegExp ? re : undefined, msg); counts.pass++; },
    resolves: async (p, msg) => { await (typeof p === 'function' ? p() : p); counts.pass++; },
    pass: ok(() => {}),
    fail: (msg) => assert.fail(msg),
    comment: (...a) => ctx?.diagnostic?.(a.join(' ')),
    plan: () => {},
    end: () => {},
    teardown: (fn) => ctx?.after?.(fn),
    before: (fn) => ctx?.before?.(fn),
    after: (fn) => ctx?.after?.(fn),
    test: (name, opts, fn) => sub(ctx, name, opts, fn),
  };
}

function sub(parent, name, opts, fn) {
  if (typeof opts === 'function') [opts, fn] = [{}, opts];
  const skip = opts?.skip || false;
  const run = (ctx) => fn(api(ctx));
  return parent ? parent.test(name, { skip, timeout: opts?.timeout }, run) : nodeTest(name, { skip, timeout: opts?.timeout }, run);
}

const t = api(null);
export default t;
