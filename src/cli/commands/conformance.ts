// `tngd conformance URL`: run the conformance suite against a device and print a table of checks
// (or --json). Exit codes: 0 every check that ran passed, 1 a check failed or the device could not
// be reached, 2 usage.
import type { Command } from 'commander';
import { CHECKS, formatReport, runConformance } from '../../conformance/index.ts';
import { emulatorOptionsFromQuery } from '../../connect.ts';
import { parseLinkUrl } from '../../driver/transports/link-url.ts';
import { EXIT, UsageError, addDeviceOptions, cliLogger, defineCommand, driverOptions } from '../support.ts';
import type { DeviceFlags } from '../support.ts';

interface Flags extends DeviceFlags {
  only?: string;
  hardware?: boolean;
  list?: boolean;
}

async function conformance(url: string | undefined, f: Flags): Promise<number> {
  if (f.list) {
    for (const c of CHECKS) process.stdout.write(`${c.id.padEnd(26)} ${c.title}\n`);
    return EXIT.ok;
  }
  if (!url) throw new UsageError('missing device URL (e.g. tngd conformance /dev/pts/3)');
  const logger = cliLogger(f.logLevel, 'conformance');
  const only = f.only?.split(',').map((s) => s.trim()).filter(Boolean);
  if (only) {
    const unknown = only.filter((p) => !CHECKS.some((c) => c.id === p || c.id.startsWith(p)));
    if (unknown.length > 0) throw new UsageError(`--only: no check matches ${unknown.join(', ')} (see --list)`);
  }
  const connectOpts = driverOptions(f, logger);
  // A malformed URL is a usage error (exit 2), not a failed check.
  const spec = parseLinkUrl(url);
  if (spec.kind === 'emu') emulatorOptionsFromQuery(url, spec.params);
  const report = await runConformance(url, {
    logger,
    hardware: f.hardware ?? Boolean(process.env.TNGD_DEVICE),
    ...(only ? { only } : {}),
    timeoutMs: connectOpts.timeoutMs ?? 3000,
    connect: { ...connectOpts, fingerprint: 'warn' },
    onCheck: (c) => logger.info({ check: c.id, status: c.status, ms: c.ms, ...(c.reason ? { reason: c.reason } : {}) }, 'check'),
  });
  if (f.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${formatReport(report, { width: process.stdout.columns ?? 120 })}\n`);
  return report.ok ? EXIT.ok : EXIT.failure;
}

export function register(program: Command): void {
  defineCommand<Flags>(program, {
    name: 'conformance',
    description: 'Check a device against firmware-spec/ (protocol v1 and, for emulators, the golden numerics)',
    args: [['[url]', 'device: /dev/ttyUSB0, serial:///dev/ttyUSB0?baud=921600, tcp://host:port, emu:?seed=1']],
    configure: (cmd) => {
      addDeviceOptions(cmd)
        .option('--only <ids>', 'comma-separated check ids or prefixes (e.g. bulk,state.RUNNING)')
        .option('--hardware', 'also run the hardware-only checks (default when $TNGD_DEVICE is set)')
        .option('--list', 'list the checks and exit')
        .addHelpText(
          'after',
          '\nExit status: 0 all checks that ran passed, 1 a check failed or the device was unreachable, 2 usage.\n\nExamples:\n  tngd conformance /dev/pts/3\n  tngd conformance tcp://127.0.0.1:5555 --json > report.json\n  tngd conformance emu: --only bulk,atomic\n',
        );
    },
    run: (flags, [url]) => conformance(url, flags),
  });
}
