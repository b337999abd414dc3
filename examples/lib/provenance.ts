// Which code produced a result: the git commit of the working tree and whether it had
// uncommitted changes (a result from a dirty tree names its commit but says so).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Provenance {
  /** full commit hash, or 'unknown' outside a git checkout */
  commit: string;
  dirty: boolean;
}

export function gitProvenance(): Provenance {
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}
