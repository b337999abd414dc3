// The events an SpuDriver emits, declared once: `SpuDriver extends EventEmitter<SpuDriverEvents>`,
// so a misspelt event name or a wrong listener signature fails to compile at `on` and at `emit`.
import type { ReplyBody } from '../protocol/index.ts';
import type { DisconnectedError } from './errors.ts';
import type { DeviceInfo } from './types.ts';

export interface SpuDriverEvents {
  /**
   * The link went down while the driver was open: the transport closed or failed ('link-closed'),
   * heartbeats went unanswered ('heartbeat-lost'), or reconnect() dropped the old link
   * ('closed-by-host'). Every pending request has failed with this same error. Not emitted by
   * close(). Recover with reconnect().
   */
  disconnected: [error: DisconnectedError];
  /**
   * A heartbeat showed the device's uptime going backwards: it rebooted behind the host's back
   * and lost its configuration and uploads (the link itself stayed up). Recover with restore().
   */
  reboot: [heartbeat: ReplyBody<'Heartbeat'>];
  /** reconnect() finished: new link, new handshake, and (with restore) the device state rebuilt. */
  reconnected: [info: DeviceInfo];
}
