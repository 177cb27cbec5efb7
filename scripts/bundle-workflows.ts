/**
 * Bundles the workflow code once, at image build (`npm run bundle:workflows` after `npm run build`):
 * writes dist/workflow-bundle.js, which the payment and webhook workers load instead of bundling at
 * start (workers/workflow-code.ts). Run from dist/ (node dist/scripts/bundle-workflows.js) it bundles
 * the compiled JavaScript that the image ships.
 */
import fs from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_FILE, workflowBundleInputs } from '../workers/workflow-code';

async function main(): Promise<void> {
  const out = process.argv[2] ?? WORKFLOW_BUNDLE_FILE;
  const { code } = await bundleWorkflowCode(workflowBundleInputs);
  fs.writeFileSync(out, code);
  process.stdout.write(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle-workflows: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
