/** Workers load the workflow bundle built with the image when it is there, else bundle the sources. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKFLOW_BUNDLE_FILE, workflowBundleInputs, workflowCode } from '../../workers/workflow-code';

test('without a prebuilt bundle the worker bundles the workflow sources', () => {
  expect(workflowCode(path.join(os.tmpdir(), 'settle-no-such-bundle.js'))).toEqual({
    workflowsPath: require.resolve('../../workflows'),
  });
});

test('with a prebuilt bundle the worker loads it by path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-bundle-'));
  const file = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(file, '// bundle');
  expect(workflowCode(file)).toEqual({ workflowBundle: { codePath: file } });
  fs.rmSync(dir, { recursive: true });
});

test('the bundle sits at dist/workflow-bundle.js, next to the compiled workers', () => {
  // From the sources (workers/), the same rule points at <repo>/workflow-bundle.js, which never exists.
  expect(path.relative(path.join(__dirname, '../..'), WORKFLOW_BUNDLE_FILE)).toBe('workflow-bundle.js');
  expect(fs.existsSync(WORKFLOW_BUNDLE_FILE)).toBe(false);
  // The failure converter travels in the bundle: a prebuilt one without it would encode failures in clear.
  expect(workflowBundleInputs.failureConverterPath).toBe(
    require.resolve('../../workflows/failure-converter'),
  );
});
