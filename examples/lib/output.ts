// Where a study writes: one folder per study holding raw numbers (JSON), figures (SVG), a
// Markdown summary and manifest.json (command, options, machine, every file written).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { runCounts } from './training.ts';

// JSON has no NaN/Infinity: keep them visible as strings rather than silently as null.
function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof Float64Array || v instanceof Float32Array || v instanceof Int32Array) return Array.from(v);
  return v;
}

export class StudyOutput {
  readonly files: string[] = [];
  private readonly t0 = performance.now();
  private readonly started = new Date();

  constructor(
    readonly study: string,
    readonly dir: string,
    readonly argv: string[],
    readonly options: object,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private put(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    if (!this.files.includes(name)) this.files.push(name);
    return path;
  }

  json(name: string, data: unknown): string {
    return this.put(name, JSON.stringify(data, replacer, 1) + '\n');
  }

  svg(name: string, svg: string): string {
    return this.put(name, svg.endsWith('\n') ? svg : svg + '\n');
  }

  text(name: string, text: string): string {
    return this.put(name, text.endsWith('\n') ? text : text + '\n');
  }

  /** Writes manifest.json; returns the wall seconds the study took. */
  finish(extra: Record<string, unknown> = {}): number {
    const seconds = (performance.now() - this.t0) / 1e3;
    const manifest = {
      study: this.study,
      command: `npm run example:${this.study} --${this.argv.length ? ' ' + this.argv.join(' ') : ''}`,
      options: this.options,
      started: this.started.toISOString(),
      wallSeconds: seconds,
      machine: { node: process.version, platform: process.platform, arch: process.arch, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' },
      files: [...this.files, 'manifest.json'],
      // training runs taken from an earlier invocation (--reuse) are not in wallSeconds
      runs: { ...runCounts },
      ...extra,
    };
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'manifest.json'), JSON.stringify(manifest, replacer, 1) + '\n');
    console.log(`[${this.study}] wrote ${this.files.length + 1} files to ${relative(process.cwd(), this.dir) || '.'} in ${seconds.toFixed(1)} s`);
    return seconds;
  }
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds taken by fn (sync or async). */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
