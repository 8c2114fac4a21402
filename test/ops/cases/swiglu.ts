// swiglu / swigluBackward: one element, lengths off every vector size and
// work block, Qwen2.5 MLP widths, large |gate| (saturated σ), bf16 inputs.
import * as torl from '../../../lib/index.js';
import { swiglu64, swigluBackward64 } from '../../helpers/layers-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase, type Tol } from '../table.js';

function swigluCase(shape: number[], gateScale: number, dtypeOpt?: 'bf16'): OpCase {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    op: 'swiglu',
    name: `[${shape.join(', ')}]${gateScale !== 1 ? ` gate×${gateScale}` : ''} ${dtypeOpt ?? ''}`.trim(),
    run(device) {
      const dtype = dtypeOpt ?? floatDType(device);
      const rand = rng(n * 3 + gateScale);
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const gate = round(randn(n, rand).map((x) => x * gateScale));
      const up = round(randn(n, rand)), dy = round(randn(n, rand));
      const Tn = (a: Float32Array) => torl.tensor(a, shape, { dtype, device });
      const G = Tn(gate), U = Tn(up);
      const y = torl.ops.swiglu(G, U);
      const g = torl.ops.swigluBackward(Tn(dy), G, U);
      const fwd = swiglu64(gate, up), bwd = swigluBackward64(dy, gate, up);
      const low = dtype === 'bf16' || device !== 'cpu';
      const tol: Tol = low ? { rtol: 2 ** -7, atol: 1e-6 } : { rtol: 1e-6, atol: 1e-9 };
      return {
        y: { got: y.toArray() as Float32Array, want: fwd.v, mag: fwd.mag, tol },
        dgate: { got: g.dgate.toArray() as Float32Array, want: bwd.dgate.v, mag: bwd.dgate.mag, tol },
        dup: { got: g.dup.toArray() as Float32Array, want: bwd.dup.v, mag: bwd.dup.mag, tol },
      };
    },
  };
}

export const swigluCases: OpCase[] = [
  swigluCase([1], 1),
  swigluCase([3, 37], 1),
  swigluCase([17, 4864], 4),
  swigluCase([5, 8960], 1),
  swigluCase([1000], 40),
  swigluCase([9, 130], 3, 'bf16'),
];
