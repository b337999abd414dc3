#!/usr/bin/env node
// The `tngd` command: runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci`
// and git installs run through `prepare`). Development without a build: `npm run tngd -- …`.
import { existsSync, readFileSync } from 'node:fs';
import { URL } from 'node:url';

const args = process.argv.slice(2);
// `tngd --version` answers without loading the CLI (scripts call it to probe the install).
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  const main = new URL('../dist/cli/main.js', import.meta.url);
  if (!existsSync(main)) {
    process.stderr.write('tngd: the compiled CLI (dist/) is missing; run `npm run build` in the package folder (or `npm run tngd -- …` to run the sources)\n');
    process.exit(1);
  }
  await import(main.href);
}
