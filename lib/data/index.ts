// Datasets (parquet, jsonl, json) and prompt templates.
export { loadDataset, Dataset, permutation, type Example, type LoadDatasetOptions, type Batch, type BatchOptions } from './dataset.js';
export { getPath, DEFAULT_COLUMNS, type ColumnMap } from './columns.js';
export { readRows, expandPaths, type DataFormat, type Row } from './rows.js';
export { templates, tirBase0309, noTool, resolveTemplate, PROMPT_PLACEHOLDER, type PromptTemplate, type TemplateSpec } from './templates.js';
