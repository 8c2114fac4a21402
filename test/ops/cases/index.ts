// Every op family's cases, in one table.
import type { OpCase } from '../table.js';
import { addCases } from './add.js';
import { adamwCases } from './adamw.js';
import { attentionCases } from './attention.js';
import { embeddingCases } from './embedding.js';
import { grpoCases } from './grpo.js';
import { linearCases } from './linear.js';
import { lmHeadCases } from './lm_head.js';
import { pagedAttentionCases } from './paged_attention.js';
import { rmsnormCases } from './rmsnorm.js';
import { ropeCases } from './rope.js';
import { sampleCases } from './sample.js';
import { swigluCases } from './swiglu.js';

export const cases: OpCase[] = [
  ...linearCases,
  ...embeddingCases,
  ...rmsnormCases,
  ...ropeCases,
  ...attentionCases,
  ...pagedAttentionCases,
  ...swigluCases,
  ...lmHeadCases,
  ...grpoCases,
  ...adamwCases,
  ...sampleCases,
  ...addCases,
];
