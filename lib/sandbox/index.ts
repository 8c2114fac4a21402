// The Python sandbox: a local pool of warm workers, a SandboxFusion client, observation text.
export type { CodeRunner, RunRequest, RunResult, RunStatus } from './types.js';
export { PythonSandbox, type PythonSandboxOptions, type SandboxInfo } from './python-sandbox.js';
export type { Guarantees, IsolationMode, IsolationRequest } from './isolation.js';
export { SandboxFusionClient, type SandboxFusionOptions } from './fusion.js';
export { formatObservation, truncateMiddle, type ObservationOptions } from './observation.js';
