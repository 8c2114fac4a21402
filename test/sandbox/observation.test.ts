// ToRL-style observation text from run results (no Python needed).
import t from 'tap';
import { formatObservation, truncateMiddle, type RunResult } from '../../lib/sandbox/index.js';

const result = (over: Partial<RunResult>): RunResult => ({
  id: 1, status: 'ok', returnCode: 0, stdout: '', stderr: '', wallMs: 1, cpuMs: 1, truncated: false, ...over,
});

t.test('success is the stdout, trailing whitespace trimmed', async (t) => {
  t.equal(formatObservation(result({ stdout: '42\n', stderr: 'a warning\n' })), '42');
  t.equal(formatObservation(result({ stdout: '  a\n b\n\n' })), '  a\n b');
});

t.test('empty success gets a clear marker', async (t) => {
  t.equal(formatObservation(result({ stdout: '\n' })), '(no output: use print() to see values)');
  t.equal(formatObservation(result({}), { noOutput: '[empty]' }), '[empty]');
});

t.test('failure is the last line of the traceback', async (t) => {
  const stderr = 'Traceback (most recent call last):\n  File "<string>", line 2, in <module>\nZeroDivisionError: division by zero\n';
  t.equal(formatObservation(result({ status: 'error', returnCode: 1, stdout: 'partial\n', stderr })), 'ZeroDivisionError: division by zero');
  t.equal(formatObservation(result({ status: 'error', returnCode: 3 })), 'Process exited with code 3');
  t.equal(formatObservation(result({ status: 'oom', returnCode: 1, stderr: 'Traceback...\nMemoryError\n' })), 'MemoryError');
  t.equal(formatObservation(result({ status: 'timeout', returnCode: -9 })), 'TimeoutError: execution timed out');
  t.equal(formatObservation(result({ status: 'killed', returnCode: -15 })), 'Process killed by signal 15');
  t.equal(formatObservation(result({ status: 'crashed', returnCode: -11 })), 'Process crashed (signal 11)');
  t.equal(formatObservation(result({ status: 'crashed', returnCode: null, stderr: 'sandbox worker died' })), 'Sandbox error: sandbox worker died');
});

t.test('head...tail truncation by code points', async (t) => {
  const digits = Array.from({ length: 100 }, (_, i) => String(i % 10)).join('');
  // 20 chars: omission '\n...\n' is 5, leaving 15 = head 8 + tail 7.
  t.equal(formatObservation(result({ stdout: digits }), { maxChars: 20 }), '01234567\n...\n3456789');
  t.equal(truncateMiddle('short', 5), 'short');
  t.equal(truncateMiddle('😀😀😀😀😀😀', 5, '…'), '😀😀…😀😀');
  t.equal(truncateMiddle('abcdef', 2, '.....'), 'ab');
  t.throws(() => formatObservation(result({}), { maxChars: 0 }), /maxChars/);
});
