// Hostile code in every setting the sandbox meets: each isolation mode here, then a
// machine without bubblewrap and python3-seccomp (hidden in a mount namespace), then a
// user who is not root. The cases and their containment checks: hostile-suite.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { hostileSuite, makeOpenDir, type Setting } from './hostile-suite.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const asRoot = process.getuid?.() === 0;
/** For rlimits mode and the other user: an interpreter outside /root, which the snippet's
 *  unprivileged uid (or the other user) can read. */
const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const bwrap = spawnSync('bwrap', ['--version']).status === 0;
const suite = (setting: Setting) => [process.execPath, '--import', 'tsx', join(here, 'hostile-suite.ts'), JSON.stringify(setting)];

t.test('isolation namespaces (no system package)', (t) => hostileSuite(t, { isolation: 'namespaces', expect: 'namespaces' }));

t.test('isolation bwrap', bwrap ? {} : { skip: 'bubblewrap is not installed here (CI installs it)' }, (t) =>
  hostileSuite(t, { isolation: 'bwrap', expect: 'bwrap' }),
);

t.test('isolation rlimits (allowInsecure)', asRoot ? {} : { skip: 'rlimits mode contains a fork bomb only with the uid drop, as root' }, (t) =>
  hostileSuite(t, { isolation: 'rlimits', expect: 'rlimits', allowInsecure: true, python: SYSTEM_PYTHON }),
);

// Root can hide system packages from a child in a mount namespace of its own.
const SECCOMP_SO = '/usr/lib/python3/dist-packages';
t.test('a machine without bubblewrap or python3-seccomp picks namespaces', asRoot ? {} : { skip: 'hiding system files needs root' }, (t) => {
  const bwrapPath = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).stdout.trim();
  const hide = [
    'set -e',
    bwrapPath ? `mount --bind /dev/null ${bwrapPath}` : 'true',
    `for f in ${SECCOMP_SO}/seccomp*.so; do [ -e "$f" ] && mount --bind /dev/null "$f"; done`,
    '! command -v bwrap >/dev/null || ! bwrap --version >/dev/null 2>&1',
    '! /usr/bin/python3 -c "import seccomp" 2>/dev/null',
    'exec "$@"',
  ].join('\n');
  const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c', hide, 'hide', ...suite({ isolation: 'auto', expect: 'namespaces' })];
  return t.spawn('unshare', args, { cwd: root }, 'hostile code, bwrap and python3-seccomp hidden');
});

// Another user: root runs the suite as nobody; a user who is not root runs it as itself.
t.test('a user who is not root', (t) => {
  const userns = spawnSync('setpriv', [...(asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups'] : []), 'unshare', '--user', 'true']).status === 0;
  const openDir = makeOpenDir();
  t.teardown(() => rmSync(openDir, { recursive: true, force: true }));
  const setting: Setting = { isolation: 'auto', expect: 'namespaces', python: SYSTEM_PYTHON, bwrap: '/nonexistent/bwrap', openDir };
  // Where unprivileged user namespaces are off, nothing can isolate: the sandbox must
  // refuse rather than run snippets unboxed.
  const uid = asRoot ? 65534 : process.getuid!();
  const cmd = suite({ ...setting, uid, ...(userns ? {} : { expect: 'refused' }) });
  if (!asRoot) return t.spawn(cmd[0]!, cmd.slice(1), { cwd: root }, 'hostile code, not root');
  // (t.spawn does not pass uid/gid on to the child: setpriv changes user.)
  return t.spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd], { cwd: root, env: { ...process.env, HOME: '/tmp' } }, 'hostile code, as nobody');
});
