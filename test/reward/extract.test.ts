import t from 'tap';
import { extractAnswer } from '../../lib/reward/index.js';

t.test('the last box, with nested and escaped braces', async (t) => {
  t.equal(extractAnswer('first \\boxed{1}, then \\boxed{2}.'), '2');
  t.equal(extractAnswer('$\\boxed{\\frac{1}{\\sqrt{2}}}$'), '\\frac{1}{\\sqrt{2}}');
  t.equal(extractAnswer('\\boxed{\\{1, 2\\}}'), '\\{1, 2\\}');
  t.equal(extractAnswer('\\boxed{ \\text{(C)} }'), '\\text{(C)}');
  t.equal(extractAnswer('\\boxed{\\boxed{7}}'), '7');
  t.equal(extractAnswer('\\fbox{7} is it'), '7');
  t.equal(extractAnswer('\\boxed{3} or rather \\fbox{4}'), '4');
  t.equal(extractAnswer('so $\\boxed 5$.'), '5');
  t.equal(extractAnswer('so \\boxed 12.'), '12');
  t.equal(extractAnswer('\\boxed{1} then \\boxedfoo{3}'), '1');
});

t.test('no answer: no box, unclosed or empty box', async (t) => {
  t.equal(extractAnswer('The answer is 42.'), null);
  t.equal(extractAnswer('\\boxed{12'), null);
  t.equal(extractAnswer('\\boxed{}'), null);
  t.equal(extractAnswer('\\boxed{  }'), null);
  t.equal(extractAnswer('\\boxed$'), null);
  t.equal(extractAnswer(''), null);
});

t.test('fallbacks are off by default and used in the order given', async (t) => {
  const text = 'We get 3 apples.\nSo the answer is $\\frac{1}{2}$.';
  t.equal(extractAnswer(text), null);
  t.equal(extractAnswer(text, { fallbacks: ['answer-is'] }), '\\frac{1}{2}');
  t.equal(extractAnswer(text, { fallbacks: ['last-number'] }), '2');
  t.equal(extractAnswer('total: 1,234.5 and -7/8', { fallbacks: ['last-number'] }), '-7/8');
  t.equal(extractAnswer('The Answer Is: 12', { fallbacks: ['answer-is', 'last-number'] }), '12');
  t.equal(extractAnswer('no numbers here', { fallbacks: ['answer-is', 'last-number'] }), null);
  t.equal(extractAnswer('x \\boxed{9} the answer is 3', { fallbacks: ['answer-is'] }), '9');
});

t.test('tool outputs do not count unless asked', async (t) => {
  const response = [
    '```python',
    'print(box(1 + 2))',
    '```',
    '```output',
    '\\boxed{3}',
    '```',
    'The interpreter printed it.',
  ].join('\n');
  t.equal(extractAnswer(response), null);
  t.equal(extractAnswer(response, { includeToolOutputs: true }), '3');
  t.equal(extractAnswer(`${response}\nSo \\boxed{4}.`), '4');
  t.equal(extractAnswer('<output>\\boxed{5}```\nmine: \\boxed{6}', { toolOutputFence: '<output>' }), '6');
  t.equal(extractAnswer('```output\n\\boxed{5} (the output was cut', {}), null);
});

t.test('hostile text: 1 MB responses and 10,000 nested braces', async (t) => {
  const filler = 'x'.repeat(1 << 20);
  t.equal(extractAnswer(`${filler}\\boxed{17}`), '17');
  t.equal(extractAnswer(`\\boxed{17}${filler}`), '17');
  const nested = '{'.repeat(10_000) + '1' + '}'.repeat(10_000);
  t.equal(extractAnswer(`\\boxed{${nested}}`), nested);
  t.equal(extractAnswer(`\\boxed{${'{'.repeat(10_000)}1`), null);
  t.equal(extractAnswer('\\boxed{'.repeat(150_000)), null);
  t.equal(extractAnswer('\\boxedx'.repeat(150_000)), null);
  t.equal(extractAnswer('```output'.repeat(100_000)), null);
  t.equal(extractAnswer('```'.repeat(300_000) + '\\boxed{1}'), '1', 'fences in pairs: the box is prose');
  t.equal(extractAnswer('```'.repeat(300_001) + '\\boxed{1}'), null, 'an odd number: the box is in a block never closed');
  t.equal(extractAnswer('<o>```'.repeat(100_000) + '\\boxed{2}', { toolOutputFence: '<o>' }), '2');
  t.equal(extractAnswer('1'.repeat(1 << 20), { fallbacks: ['answer-is', 'last-number'] })?.length, 1 << 20);
});
