// Every op family's cases, in one table.
import type { OpCase } from '../table.js';
import { linearCases } from './linear.js';

export const cases: OpCase[] = [...linearCases];
