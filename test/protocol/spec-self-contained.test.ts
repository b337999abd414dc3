// firmware-spec/ must be sufficient on its own: an implementer who never opens src/ finds every
// normative fact there. So a file under firmware-spec/ may point into src/ only where it says the
// pointer is informative: inside an HTML comment (table markers for the spec tests), in a
// paragraph that says "informative", or in a section whose heading does. Generated JSON (schemas,
// vectors) must not mention src/ at all.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const specDir = join(root, 'firmware-spec');
const SRC_REF = /(^|[^A-Za-z0-9_.-])src\//;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Lines of a markdown text that refer into src/ without being marked informative. */
export function normativeSrcRefs(text: string): { line: number; text: string }[] {
  const noComments = text.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '));
  const lines = noComments.split('\n');
  const bad: { line: number; text: string }[] = [];
  let sectionInformative = false;
  let sectionLevel = 0;
  let para: number[] = [];
  const flush = () => {
    const body = para.map((i) => lines[i]).join('\n');
    if (SRC_REF.test(body) && !sectionInformative && !/informative/i.test(body))
      for (const i of para) if (SRC_REF.test(lines[i])) bad.push({ line: i + 1, text: lines[i].trim() });
    para = [];
  };
  let fenced = false;
  lines.forEach((l, i) => {
    if (l.startsWith('```')) fenced = !fenced;
    const h = fenced ? null : /^(#{2,6}) (.*)$/.exec(l);
    if (h || l.trim() === '') {
      flush();
      if (h) {
        const level = h[1].length;
        if (!sectionInformative || level <= sectionLevel) {
          sectionInformative = /informative/i.test(h[2]);
          sectionLevel = level;
        }
      }
      return;
    }
    para.push(i);
  });
  flush();
  return bad;
}

describe('firmware-spec/ stands on its own', () => {
  const all = files(specDir);

  it('no markdown file refers into src/ for a normative fact (only paragraphs or sections marked informative may)', () => {
    const offenders = all
      .filter((f) => f.endsWith('.md'))
      .flatMap((f) => normativeSrcRefs(readFileSync(f, 'utf8')).map((b) => `${relative(root, f)}:${b.line}: ${b.text}`));
    expect(offenders).toEqual([]);
  });

  it('no schema or vector file mentions src/', () => {
    const offenders = all.filter((f) => !f.endsWith('.md') && SRC_REF.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('the facts the outside implementation had to look up in src/ are stated in the spec', () => {
    const protocol = readFileSync(join(specDir, 'PROTOCOL.md'), 'utf8');
    const emulator = readFileSync(join(specDir, 'EMULATOR.md'), 'utf8');
    expect(protocol).not.toMatch(/single source of truth/);
    expect(protocol).toContain('chunkBytes ≤ maxInner(M) − 12 − 48'); // §8
    expect(protocol).toContain('count ≤ ⌊(maxInner(M) − 12 − 160) / itemsize⌋'); // §7.7
    expect(protocol).toContain('### 10.1 Order of checks');
    expect(emulator).not.toMatch(/as listed in/);
  });

  it('the checker itself: flags an unmarked reference, accepts marked ones', () => {
    expect(normativeSrcRefs('## 3. Numbers\n\nThe constants are in `src/x.ts`.\n')).toHaveLength(1);
    expect(normativeSrcRefs('The constants are below.\n\n*(Informative.)* The code is `src/x.ts`.\n')).toEqual([]);
    expect(normativeSrcRefs('### 2.2 Binding (*informative*)\n\nSee `src/y.ts`.\n\nMore `src/z.ts`.\n\n### 2.3 Next\n\nNow `src/w.ts`.\n')).toEqual([{ line: 9, text: 'Now `src/w.ts`.' }]);
    expect(normativeSrcRefs('<!-- table: x (checked against src/a.ts) -->\n| a |\n')).toEqual([]);
  });
});
