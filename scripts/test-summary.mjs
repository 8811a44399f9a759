// Prints the plain closing line CI reads, from vitest's JSON report:
//   Tests: N passed, N failed[, N skipped]
// A missing or unreadable report means the run itself broke: that is a failure.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".reports/vitest.json";
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (report.success === false && failed === 0) failed = 1;
} catch (error) {
  console.error(`test-summary: cannot read ${file}: ${error.message}`);
  failed = 1;
}
console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
