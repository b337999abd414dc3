// The run folder's files: what a run writes, what --overwrite removes, what makes a folder "in use".
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The files a run writes into its folder (what --overwrite removes). */
// device.json and state.json are the live page's records (run/live/recorder.ts).
const RUN_FILES = ['config.json', 'metrics.jsonl', 'checkpoints', 'report.html', 'device.json', 'state.json'];

export function runFolderEntries(out: string): string[] {
  return existsSync(out) && statSync(out).isDirectory() ? readdirSync(out) : existsSync(out) ? [basename(out)] : [];
}

/** Removes what a previous run wrote (and nothing else: --out may name a folder holding other files). */
export function clearRunFolder(out: string): void {
  for (const e of runFolderEntries(out)) if (RUN_FILES.includes(e) || e.endsWith('.svg')) rmSync(join(out, e), { recursive: true, force: true });
}

