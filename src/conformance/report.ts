// Plain-text table of a conformance report (what `tngd conformance` prints).
import type { ConformanceReport } from './types.ts';

const MARK = { pass: 'PASS', fail: 'FAIL', skip: 'skip' } as const;

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function formatReport(r: ConformanceReport, opts: { width?: number } = {}): string {
  const width = Math.max(80, opts.width ?? 120);
  const idW = Math.max(2, ...r.checks.map((c) => c.id.length));
  const lines: string[] = [];
  const dev = r.device ? `${r.device.vendor} ${r.device.model} ${r.device.serial} fw ${r.device.firmware}, protocol ${r.device.protocol}` : 'no device';
  lines.push(`Conformance of ${r.target} (${dev})`);
  lines.push('');
  lines.push(`${'check'.padEnd(idW)}  result  ${'ms'.padStart(6)}  notes`);
  lines.push(`${'-'.repeat(idW)}  ------  ${'-'.repeat(6)}  ${'-'.repeat(Math.max(5, width - idW - 18))}`);
  for (const c of r.checks) {
    const note = c.status === 'pass' ? c.title : `${c.reason ?? ''}`;
    lines.push(`${c.id.padEnd(idW)}  ${MARK[c.status].padEnd(6)}  ${String(c.ms).padStart(6)}  ${clip(note, width - idW - 18)}`);
  }
  lines.push('');
  lines.push(`${r.summary.pass} passed, ${r.summary.fail} failed, ${r.summary.skip} skipped in ${(r.durationMs / 1000).toFixed(1)} s — ${r.ok ? 'CONFORMS' : 'DOES NOT CONFORM'}`);
  return lines.join('\n');
}
