import { relative } from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

/**
 * RetriedReporter names, at the end of a run, every test that failed and then passed when CI ran it
 * again (`--retry`). CI retries a failed test once so that one lost timing race on a loaded machine
 * does not hold back everything else; a test named here still has a race (in the test or in
 * Tocsin) to be found and mended, and its first failure is printed with it.
 */
export default class RetriedReporter implements Reporter {
  private readonly retried: { name: string; errors: string[] }[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const diagnostic = testCase.diagnostic();
    if (!diagnostic || diagnostic.retryCount === 0 || testCase.result().state !== 'passed') return;
    const errors = (testCase.result().errors ?? []).map((error) => error.message);
    this.retried.push({ name: `${relative(process.cwd(), testCase.module.moduleId)} > ${testCase.fullName}`, errors });
  }

  onTestRunEnd(): void {
    if (this.retried.length === 0) {
      console.log('\nretried: no test failed and then passed');
      return;
    }
    console.log(`\nretried: ${this.retried.length} test(s) failed, then passed when run again — each is a race to mend:`);
    for (const { name, errors } of this.retried) {
      console.log(`  ↻ ${name}`);
      for (const message of errors) console.log(`      first failure: ${message.split('\n')[0]}`);
    }
  }
}
