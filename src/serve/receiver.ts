/**
 * The listeners: UDP (`node:dgram`), TCP (`node:net`) and TLS (`node:tls`), each frame handed to
 * the spool. Limits from the configuration: frame size, connections in all and per peer, idle and
 * TLS handshake timeouts, an address allowlist, a large UDP receive buffer. Backpressure: while
 * the spool or the processing lags (`setPaused(true)`), TCP and TLS sockets stop being read, so
 * the senders queue instead of this process's memory growing; UDP cannot be paused, so datagrams
 * beyond the pending cap are dropped and counted (`overload`).
 */
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { GuestOpsError } from "../shared/errors.js";
import type { ListenerConfig, ServeConfig } from "./config.js";
import type { Counters } from "./counters.js";
import { datagramFrame, FrameDecoder } from "./framing.js";
import type { Spool } from "./spool.js";

export interface BoundListener {
  readonly name: string;
  readonly protocol: "udp" | "tcp" | "tls";
  readonly address: string;
  readonly port: number;
}

/** An IPv4-mapped IPv6 address as plain IPv4. */
const plain = (a: string | undefined): string =>
  a === undefined ? "" : a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;

export function allowList(cidrs: readonly string[]): (address: string) => boolean {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const [ip = "", bits] = c.split("/");
    const type = net.isIP(ip) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return (address) => {
    const a = plain(address);
    const type = net.isIP(a);
    return type !== 0 && list.check(a, type === 6 ? "ipv6" : "ipv4");
  };
}

export class Receiver {
  readonly bound: BoundListener[] = [];
  readonly #servers: (net.Server | dgram.Socket)[] = [];
  readonly #sockets = new Set<net.Socket>();
  readonly #perPeer = new Map<string, number>();
  #allowed: (address: string) => boolean;
  /** TLS servers by listener index (certificates are renewed in place on a reload). */
  readonly #tls = new Map<number, tls.Server>();
  #paused = false;

  constructor(
    private readonly config: ServeConfig,
    private readonly spool: Spool,
    private readonly counters: Counters,
    /** Called after each chunk read off a socket: re-checks the high-water mark at once. */
    private readonly onChunk: () => void = () => undefined,
  ) {
    this.#allowed = allowList(config.allow);
  }

  async start(): Promise<void> {
    for (const [i, l] of this.config.listeners.entries()) {
      const name = l.name ?? `${l.protocol}-${i}`;
      const port = l.protocol === "udp" ? await this.udp(l, name) : await this.stream(l, name, i);
      this.bound.push({ name, protocol: l.protocol, address: l.address, port });
    }
  }

  /** A new allowlist for connections and datagrams from now on (open connections stay). */
  setAllow(cidrs: readonly string[]): void {
    this.#allowed = allowList(cidrs);
  }

  /**
   * Reads every TLS listener's certificate, key and CA files again into secure contexts, without
   * applying them (a reload validates first); `apply()` gives them to the servers, for the
   * handshakes that follow. Throws GuestOpsError when a file is unreadable or a pair does not match.
   */
  tlsRenewal(listeners: readonly ListenerConfig[]): { count: number; apply: () => void } {
    const contexts: [tls.Server, tls.SecureContextOptions][] = [];
    for (const [i, server] of this.#tls) {
      const l = listeners[i];
      if (l === undefined) continue;
      const options = {
        cert: readPem(l.cert),
        key: readPem(l.key),
        ...(l.ca !== undefined ? { ca: readPem(l.ca) } : {}),
      };
      try {
        tls.createSecureContext(options);
      } catch (cause) {
        throw new GuestOpsError(
          "ERR_USAGE",
          `listeners[${i}]: cannot use ${l.cert ?? ""} with ${l.key ?? ""}: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        );
      }
      contexts.push([server, options]);
    }
    return {
      count: contexts.length,
      apply: () => {
        for (const [server, options] of contexts) server.setSecureContext(options);
      },
    };
  }

  /** Stops reading (true) or reads again (false) every TCP and TLS socket. */
  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    this.counters.backpressure.paused = paused;
    if (paused) this.counters.backpressure.pauses++;
    for (const s of this.#sockets) {
      if (paused) s.pause();
      else s.resume();
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s instanceof net.Server) s.close(() => resolve());
            else s.close(() => resolve());
          }),
      ),
    );
  }

  private udp(l: ListenerConfig, name: string): Promise<number> {
    const { limits, spool } = this.config;
    const socket = dgram.createSocket({
      type: net.isIP(l.address) === 6 ? "udp6" : "udp4",
      recvBufferSize: limits.udpReceiveBufferBytes,
    });
    socket.on("message", (msg, rinfo) => {
      if (!this.#allowed(rinfo.address)) return this.counters.drop("not-allowed");
      if (msg.length > limits.maxFrameBytes) return this.counters.drop("oversize");
      const bytes = datagramFrame(msg);
      if (bytes.length === 0) return;
      if (bytes.includes(0)) return this.counters.drop("binary");
      if (this.spool.pending >= spool.maxPendingFrames) return this.counters.drop("overload");
      this.counters.receive(name);
      this.spool.add({
        listener: name,
        peer: plain(rinfo.address),
        rxMs: Date.now(),
        bytes: Buffer.from(bytes),
      });
    });
    this.#servers.push(socket);
    return new Promise((resolve, reject) => {
      socket.once("error", (cause) => reject(bindError(l, cause)));
      socket.bind(l.port, l.address, () => {
        socket.removeAllListeners("error");
        socket.on("error", () => undefined); // a send error on a receive socket: nothing to do
        resolve(socket.address().port);
      });
    });
  }

  private stream(l: ListenerConfig, name: string, index: number): Promise<number> {
    const { limits } = this.config;
    const server =
      l.protocol === "tls"
        ? tls.createServer({
            cert: readPem(l.cert),
            key: readPem(l.key),
            ...(l.ca !== undefined ? { ca: readPem(l.ca) } : {}),
            requestCert: l.ca !== undefined,
            rejectUnauthorized: l.requireClientCert,
            handshakeTimeout: limits.handshakeTimeout,
          })
        : net.createServer();
    server.maxConnections = limits.maxConnections;
    server.on("drop", () => {
      this.counters.drop("connection-limit");
      this.counters.connections.rejected++;
    });
    // limits apply to the raw connection, before a TLS handshake costs anything
    server.on("connection", (socket: net.Socket) => this.admit(socket));
    const serve = (socket: net.Socket): void => this.read(socket, name);
    if (server instanceof tls.Server) {
      this.#tls.set(index, server);
      server.on("secureConnection", serve);
      server.on("tlsClientError", (_error, socket) => {
        this.counters.drop("tls-handshake");
        socket.destroy();
      });
    } else server.on("connection", serve);
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", (cause) => reject(bindError(l, cause)));
      server.listen({ port: l.port, host: l.address }, () => {
        server.removeAllListeners("error");
        server.on("error", () => undefined);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Allowlist and per-peer limit, idle timeout; tracked for pausing. */
  private admit(socket: net.Socket): void {
    const peer = plain(socket.remoteAddress);
    const reject = (reason: "not-allowed" | "peer-limit"): void => {
      this.counters.drop(reason);
      this.counters.connections.rejected++;
      socket.destroy();
    };
    if (!this.#allowed(peer)) return reject("not-allowed");
    const n = this.#perPeer.get(peer) ?? 0;
    if (n >= this.config.limits.maxConnectionsPerPeer) return reject("peer-limit");
    this.#perPeer.set(peer, n + 1);
    this.#sockets.add(socket);
    this.counters.connections.open++;
    this.counters.connections.accepted++;
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(this.config.limits.idleTimeout, () => {
      this.counters.drop("idle-timeout");
      socket.destroy();
    });
    socket.once("close", () => {
      this.#sockets.delete(socket);
      this.counters.connections.open--;
      const left = (this.#perPeer.get(peer) ?? 1) - 1;
      if (left <= 0) this.#perPeer.delete(peer);
      else this.#perPeer.set(peer, left);
    });
    socket.on("error", () => undefined); // resets are normal; close follows
    if (this.#paused) socket.pause();
  }

  /** Reads frames off an admitted socket (after the TLS handshake for TLS). */
  private read(socket: net.Socket, name: string): void {
    if (socket.destroyed) return;
    const peer = plain(socket.remoteAddress);
    if (socket instanceof tls.TLSSocket) {
      // the TLS socket wraps the admitted one: pause and idle apply to it from now on
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
      socket.on("error", () => undefined);
      socket.setTimeout(this.config.limits.idleTimeout, () => {
        this.counters.drop("idle-timeout");
        socket.destroy();
      });
      if (this.#paused) socket.pause();
    }
    const decoder = new FrameDecoder(this.config.limits.maxFrameBytes, {
      frame: (bytes) => {
        this.counters.receive(name);
        this.spool.add({ listener: name, peer, rxMs: Date.now(), bytes });
      },
      drop: (reason) => this.counters.drop(reason),
      fatal: (reason) => {
        this.counters.drop(reason);
        socket.destroy();
      },
    });
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      // the kernel may hand over megabytes in one turn of the loop: pause within it, not after
      this.onChunk();
    });
    socket.on("end", () => {
      decoder.end();
      socket.end();
    });
  }
}

function readPem(file: string | undefined): Buffer {
  if (file === undefined) throw new GuestOpsError("ERR_USAGE", "a tls listener needs cert and key");
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new GuestOpsError("ERR_INPUT_UNREADABLE", `cannot read ${file}`, { cause });
  }
}

function bindError(l: ListenerConfig, cause: unknown): GuestOpsError {
  const code = (cause as NodeJS.ErrnoException).code ?? "";
  return new GuestOpsError(
    "ERR_USAGE",
    `cannot listen on ${l.protocol} ${l.address}:${l.port}${code ? ` (${code})` : ""}`,
    {
      cause,
      hint:
        code === "EACCES"
          ? "ports below 1024 need privileges: use 1514 and redirect, or grant CAP_NET_BIND_SERVICE"
          : "choose a free port (0 picks one)",
    },
  );
}
