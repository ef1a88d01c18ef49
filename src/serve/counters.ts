/**
 * What the receiver, the processor and the outputs count, for `/metrics`, `/api/health` and the
 * dashboard. Reasons are fixed words of this code, never text from the network.
 */
import { readFileSync } from "node:fs";

/** Why a frame or a connection was not accepted. */
export type DropReason =
  | "oversize"
  | "bad-length"
  | "binary"
  | "not-allowed"
  | "connection-limit"
  | "peer-limit"
  | "idle-timeout"
  | "tls-handshake"
  | "overload"
  | "truncated";

export class Counters {
  readonly received = new Map<string, number>();
  readonly spooled = { frames: 0 };
  readonly dropped = new Map<DropReason, number>();
  readonly connections = { open: 0, accepted: 0, rejected: 0 };
  readonly backpressure = { paused: false, pauses: 0 };
  readonly processing = {
    frames: 0,
    records: 0,
    issues: 0,
    operations: 0,
    late: 0,
    alertChanges: 0,
    incidentChanges: 0,
    /** Alerts not raised: exceptions covered every finding of theirs. */
    excepted: 0,
    lagFrames: 0,
    watermarkMs: 0,
  };
  readonly outputs = new Map<string, { delivered: number; failed: number; deadLetters: number }>();
  /** Policy and configuration reloads (SIGHUP or a file change; docs/serve.md). */
  readonly reload: {
    ok: number;
    failed: number;
    /** When the last reload succeeded / failed (epoch ms; 0: never). */
    lastOkMs: number;
    lastFailedMs: number;
    /** Why the last reload failed, while the running policy and configuration are kept. */
    lastError: string | null;
    /** Configuration fields changed on disk that only a restart applies. */
    restartNeeded: string[];
  } = { ok: 0, failed: 0, lastOkMs: 0, lastFailedMs: 0, lastError: null, restartNeeded: [] };

  receive(listener: string): void {
    this.received.set(listener, (this.received.get(listener) ?? 0) + 1);
  }

  drop(reason: DropReason, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  output(name: string): { delivered: number; failed: number; deadLetters: number } {
    let o = this.outputs.get(name);
    if (!o) {
      o = { delivered: 0, failed: 0, deadLetters: 0 };
      this.outputs.set(name, o);
    }
    return o;
  }

  /** A plain JSON view (`/api/health`). */
  toJSON(): object {
    return {
      received: Object.fromEntries(this.received),
      receivedTotal: [...this.received.values()].reduce((a, b) => a + b, 0),
      spooled: this.spooled.frames,
      dropped: Object.fromEntries(this.dropped),
      connections: this.connections,
      backpressure: this.backpressure,
      processing: this.processing,
      outputs: Object.fromEntries(this.outputs),
      reload: {
        ...this.reload,
        lastOk: this.reload.lastOkMs ? new Date(this.reload.lastOkMs).toISOString() : null,
        lastFailed: this.reload.lastFailedMs
          ? new Date(this.reload.lastFailedMs).toISOString()
          : null,
      },
    };
  }
}

/**
 * The kernel's count of UDP datagrams dropped because a receive buffer was full (`Udp:
 * RcvbufErrors` in /proc/net/snmp): system wide, not this process's alone, and undefined off Linux.
 * Datagrams dropped there never reach the listener, so no counter of ours can see them.
 */
export function udpReceiveBufferErrors(): number | undefined {
  try {
    const rows = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp:"))
      .map((l) => l.trim().split(/\s+/));
    const [names, values] = rows;
    const i = names?.indexOf("RcvbufErrors") ?? -1;
    const n = i >= 0 ? Number(values?.[i]) : Number.NaN;
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
