/**
 * Jest reporter: after the default one, prints the run's counts as one plain line
 * (`jest: N passed, N failed[, N skipped]`) and keeps it in test/.artifacts/jest-summary.txt, so
 * .ci/run can repeat it as CI's closing line after the outside tools (whose own summaries follow).
 */
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line =
      `jest: ${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
    const dir = path.join(__dirname, '..', '.artifacts');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'jest-summary.txt'), `${line}\n`);
    process.stdout.write(`${line}\n`);
  }
}

module.exports = SummaryReporter;
