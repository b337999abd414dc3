// `tngd info URL`: connect, print identity, capabilities and status (or --json), disconnect.
// Logs go to stderr (pretty on a TTY, JSON lines otherwise). Exit codes: 0 ok, 1 the device
// could not be reached or answered wrongly, 2 usage (bad option or URL).
import type { Command } from 'commander';
import { connect } from '../../connect.ts';
import type { SpuDriver } from '../../driver/driver.ts';
import type { DeviceInfo, DeviceStatus } from '../../driver/types.ts';
import { SCHEMA_FINGERPRINT } from '../../protocol/index.ts';
import { EXIT, addDeviceOptions, cliLogger, defineCommand, driverOptions } from '../support.ts';
import type { DeviceFlags } from '../support.ts';

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

export function formatInfo(info: DeviceInfo, status: DeviceStatus, rttMs: number): string {
  const c = info.capabilities;
  const id = info.identity;
  const fpNote = info.schemaFingerprint === SCHEMA_FINGERPRINT ? 'matches this host' : `host has ${SCHEMA_FINGERPRINT}`;
  const counters = Object.entries(status.counters)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const bits = (b: number): string => (b > 0 ? `${b} bit` : 'ideal');
  return [
    `device       ${id.vendor} ${id.model}, serial ${id.serial}, firmware ${id.firmware}`,
    `link         ${info.link}`,
    `protocol     ${info.protocol.major}.${info.protocol.minor}, schema fingerprint ${info.schemaFingerprint} (${fpNote}), session ${info.sessionId}`,
    'capabilities',
    `  size       N ≤ ${c.maxCells} cells, rank r ≤ ${c.maxRank}`,
    `  tensors    ${c.dtypes.join(', ')}; DAC ${bits(c.dacBits)}, ADC ${bits(c.adcBits)}, full scale ${c.fullScale}`,
    `  analog     τ = ${c.tauSeconds} s, κ₀ ∈ [${c.kappa0Min}, ${c.kappa0Max}]`,
    `  link       frames ≤ ${c.maxFrameBytes} B, rate ${c.linkBytesPerSecond > 0 ? `${c.linkBytesPerSecond} B/s` : 'unknown'}, ${c.maxOpenTransfers} transfers, window ${c.bulkWindow}`,
    `  buffers    sample ring ${c.sampleRingBlocks} blocks, error queue ${c.errorQueueDepth}`,
    `  features   ${c.features.join(', ') || '(none)'}`,
    'status',
    `  state      ${status.state}, uptime ${(status.uptimeMs / 1000).toFixed(1)} s, heartbeat round trip ${rttMs.toFixed(2)} ms`,
    `  loaded     n = ${status.n}, curvature ${yesNo(status.hasCurvature)}, gradient ${yesNo(status.hasGradient)}, open transfers ${status.openTransfers}, last run ${status.runId}${status.runIndex !== undefined ? `, run counter ${status.runIndex}` : ''}`,
    `  errors     ${status.errorQueueLength} queued${status.lastError ? `, last 0x${status.lastError.code.toString(16)}: ${status.lastError.message}` : ''}`,
    `  link rx    ${counters}`,
  ].join('\n');
}

async function info(url: string, f: DeviceFlags): Promise<number> {
  const logger = cliLogger(f.logLevel, 'info');
  const opts = driverOptions(f, logger);
  let dev: SpuDriver | null = null;
  try {
    dev = await connect(url, opts);
    const hb = await dev.heartbeat();
    const status = await dev.status();
    if (f.json) process.stdout.write(`${JSON.stringify({ info: dev.info, status, heartbeatRttMs: hb.rttMs }, null, 2)}\n`);
    else process.stdout.write(`${formatInfo(dev.info, status, hb.rttMs)}\n`);
    return EXIT.ok;
  } finally {
    await dev?.close();
  }
}

export function register(program: Command): void {
  defineCommand<DeviceFlags>(program, {
    name: 'info',
    description: 'Connect to a device and print its identity, capabilities and status',
    args: [['<url>', 'device: /dev/ttyUSB0, serial:///dev/ttyUSB0?baud=921600, tcp://host:port, emu:?seed=1']],
    configure: (cmd) => {
      addDeviceOptions(cmd).addHelpText('after', '\nExamples:\n  tngd info /dev/pts/3\n  tngd info tcp://127.0.0.1:5555 --json\n  tngd info "emu:?seed=1&profile=prototype"\n');
    },
    run: (flags, [url]) => info(url, flags),
  });
}
