/**
 * Where a worker's workflow code comes from. An image carries the bundle built with it
 * (scripts/bundle-workflows.ts writes dist/workflow-bundle.js): workers start without webpack, and
 * every replica of one image runs byte-identical workflow code. Without that file (npm start, tests,
 * a plain `npm run build`) the worker bundles the sources at start, as before. Both paths take the
 * same inputs from here, so a prebuilt bundle holds exactly what a start-time bundle would. A worker
 * with tracing on bundles at start instead: the tracing interceptors join the bundle then
 * (observability/tracing.ts workerTracing), and only then (the SDK ignores
 * `interceptors.workflowModules` when given a bundle).
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataConverter } from './temporal-connection';

/** dist/workflow-bundle.js when running from dist/workers/; absent next to the TypeScript sources. */
export const WORKFLOW_BUNDLE_FILE = path.join(__dirname, '..', 'workflow-bundle.js');

export const workflowBundleInputs: {
  workflowsPath: string;
  failureConverterPath: string | undefined;
} = {
  workflowsPath: require.resolve('../workflows'),
  failureConverterPath: dataConverter.failureConverterPath,
};

/**
 * Worker.create options: the prebuilt bundle when `bundleFile` exists and the worker does not trace,
 * else the workflow sources.
 */
export function workflowCode(
  bundleFile: string = WORKFLOW_BUNDLE_FILE,
  tracing = false,
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return !tracing && fs.existsSync(bundleFile)
    ? { workflowBundle: { codePath: bundleFile } }
    : { workflowsPath: workflowBundleInputs.workflowsPath };
}
