// The one validation path for option values: commander splits the command line (unknown options,
// missing values, fixed choices), zod checks every value. Schemas here take commander's strings
// and report problems as `--flag: …`, collected for the whole command before it fails.
import { z } from 'zod';

/** commander's key → its flag: maxCells → --max-cells. */
export const flagName = (k: string): string => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** A decimal number (integer when `int`) given as a flag's text. */
export function numberFrom(flag: string, int: boolean, check?: { min?: number; max?: number }) {
  return z.string().transform((s, ctx) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v)) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected a number, got '${s}'` });
      return z.NEVER;
    }
    if (int && !Number.isInteger(v)) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected an integer, got '${s}'` });
      return z.NEVER;
    }
    if ((check?.min !== undefined && v < check.min) || (check?.max !== undefined && v > check.max)) {
      const range = check.max === undefined ? `≥ ${check.min}` : check.min === undefined ? `≤ ${check.max}` : `in ${check.min}..${check.max}`;
      ctx.addIssue({ code: 'custom', message: `${flag}: expected ${int ? 'an integer' : 'a number'} ${range}, got '${s}'` });
      return z.NEVER;
    }
    return v;
  });
}

/** zod issues → `--flag: message` lines. */
export function zodProblems(err: z.ZodError): string[] {
  return err.issues.map((i) => (i.message.startsWith('--') ? i.message : `${i.path.length ? flagName(String(i.path[0])) : '(options)'}: ${i.message}`));
}

/**
 * Parses `flags` with `schema`; bad flags are appended to `problems` and left out (so later
 * checks can still report theirs). Returns what parsed.
 */
export function parseFlags<S extends z.ZodObject>(schema: S, flags: Record<string, unknown>, problems: string[]): Partial<z.output<S>> {
  let r = schema.safeParse(flags);
  if (r.success) return r.data;
  problems.push(...zodProblems(r.error));
  const rest = { ...flags };
  for (const i of r.error.issues) delete rest[String(i.path[0])];
  r = schema.safeParse(rest);
  return r.success ? r.data : {};
}
