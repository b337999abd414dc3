// Sanity checks on a study's output folder: manifest lists existing files, JSON parses with
// finite numbers, SVGs are well-formed (balanced tags, numeric coordinates, no NaN).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/** Paths (a.b[3].c) of every number that is not finite or string spelling of one. */
export function nonFinitePaths(v: unknown, path = '$', out: string[] = []): string[] {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) out.push(path);
  } else if (typeof v === 'string') {
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') out.push(path);
  } else if (Array.isArray(v)) v.forEach((x, i) => nonFinitePaths(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) nonFinitePaths(x, `${path}.${k}`, out);
  return out;
}

/** Element names in document order; throws on unbalanced or malformed tags. */
export function checkSvgWellFormed(svg: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(svg))) {
    const between = svg.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) throw new Error(`malformed markup near offset ${last}: ${between.slice(0, 60)}`);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`);
    } else {
      names.push(name);
      if (!selfClose) stack.push(name);
    }
  }
  if (svg.slice(last).trim() !== '') throw new Error(`trailing content after the root element: ${svg.slice(last, last + 60)}`);
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (names[0] !== 'svg') throw new Error('root element is not <svg>');
  if (/NaN|Infinity|undefined/.test(svg)) throw new Error('SVG holds NaN/Infinity/undefined');
  for (const a of svg.matchAll(/\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height)="([^"]*)"/g))
    if (!Number.isFinite(Number(a[1]))) throw new Error(`non-numeric coordinate "${a[1]}"`);
  return names;
}

export interface CheckedOutput {
  manifest: { study: string; files: string[]; command: string; wallSeconds: number };
  json: Record<string, unknown>;
  svgs: string[];
}

/** Runs every check; `allowNonFinite(file, path)` may excuse a documented non-finite value. */
export function checkStudyOutput(dir: string, study: string, allowNonFinite: (file: string, path: string) => boolean = () => false): CheckedOutput {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CheckedOutput['manifest'];
  expect(manifest.study).toBe(study);
  expect(manifest.command).toContain(`npm run example:${study}`);
  expect(manifest.wallSeconds).toBeGreaterThan(0);
  const json: Record<string, unknown> = {};
  const svgs: string[] = [];
  for (const f of manifest.files) {
    expect(existsSync(join(dir, f)), `${f} listed in the manifest exists`).toBe(true);
    const text = readFileSync(join(dir, f), 'utf8');
    if (f.endsWith('.json')) {
      const v: unknown = JSON.parse(text);
      const bad = nonFinitePaths(v).filter((p) => !allowNonFinite(f, p));
      expect(bad, `non-finite numbers in ${f}`).toEqual([]);
      json[f] = v;
    } else if (f.endsWith('.svg')) {
      const names = checkSvgWellFormed(text);
      // a chart with at least one drawn series
      expect(names.filter((n) => n === 'path' || n === 'circle').length, `${f} draws data`).toBeGreaterThan(0);
      svgs.push(f);
    }
  }
  expect(manifest.files).toContain('results.json');
  expect(manifest.files).toContain('summary.md');
  expect(svgs.length).toBeGreaterThan(0);
  return { manifest, json, svgs };
}
