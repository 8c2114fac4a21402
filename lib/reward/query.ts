// The symbolic grader's query, apart from symbolic.ts: the modules whose declarations are public
// (pool, worker, equivalence) import it from here, so no published .d.ts reaches
// @cortex-js/compute-engine's own type files (which do not compile under `module: nodenext`).

/** One comparison of two single expressions (containers never reach this layer). */
export interface SymbolicQuery {
  a: string;
  b: string;
  /** 'value': a = b. 'equation': a and b are left − right of two equations, equal up to a non-zero factor. */
  mode: 'value' | 'equation';
  relTol: number;
}
