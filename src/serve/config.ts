/**
 * The `guestops serve` configuration file (YAML, docs/serve.md): listeners, limits, spool,
 * processing delay, outputs and the HTTP side. Validated with zod; every problem names the field
 * path (`serve.yaml: listeners[1].port: expected a port 0-65535`) and any problem makes the whole
 * file invalid (GuestOpsError ERR_USAGE, exit 2). Relative paths are resolved against the file's
 * directory.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, resolve } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { z } from "zod";
import { parseDuration } from "../shared/duration.js";
import { GuestOpsError, isSystemError } from "../shared/errors.js";

const duration = (fallback: string) =>
  z
    .string({ error: "expected a duration such as 50ms, 10s or 5m" })
    .default(fallback)
    .transform((s, ctx) => {
      const ms = /^\d+ms$/.test(s.trim()) ? Number(s.trim().slice(0, -2)) : parseDuration(s);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: "custom", message: "expected a duration such as 50ms, 10s or 5m" });
        return z.NEVER;
      }
      return ms;
    });

const address = z
  .string()
  .refine((a) => isIP(a) !== 0, "expected an IP address (such as 127.0.0.1 or ::1)");
const port = z
  .number()
  .int()
  .min(0, "expected a port 0-65535")
  .max(65535, "expected a port 0-65535");
const count = (fallback: number) => z.number().int().positive().default(fallback);

const cidr = z.string().refine((c) => {
  const [ip, bits, ...rest] = c.split("/");
  if (rest.length > 0 || ip === undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}, "expected an address or CIDR such as 10.0.0.0/8");

const ListenerSchema = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  protocol: z.enum(["udp", "tcp", "tls"], { error: "expected udp, tcp or tls" }),
  address: address.default("127.0.0.1"),
  port,
  /** TLS: the server certificate chain and key (PEM files), and a CA for client certificates. */
  cert: z.string().optional(),
  key: z.string().optional(),
  ca: z.string().optional(),
  requireClientCert: z.boolean().default(false),
});

const OutputSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ndjson"), name: z.string().optional(), path: z.string() }),
  z.strictObject({
    type: z.literal("syslog"),
    name: z.string().optional(),
    protocol: z.enum(["tcp", "udp"]).default("tcp"),
    host: z.string().default("127.0.0.1"),
    port,
    appName: z.string().max(48).default("guestops"),
  }),
  z.strictObject({
    type: z.literal("webhook"),
    name: z.string().optional(),
    url: z.url({ protocol: /^https?$/, error: "expected an http or https URL" }),
    /** HMAC-SHA256 key: the name of an environment variable holding it (never the key itself). */
    secretEnv: z.string().optional(),
    maxAttempts: count(5),
    backoff: duration("1s"),
    timeout: duration("10s"),
  }),
]);

export const ServeConfigSchema = z.strictObject({
  /** The store (SQLite): spool, cursors, alerts. Default: `--db`, else the user's store. */
  store: z.string().optional(),
  /** The site policy (docs/policy.md). Default: the built-in defaults. */
  policy: z.string().optional(),
  /** Reload when the configuration, the policy or a TLS file changes on disk (SIGHUP always does). */
  watch: z.boolean().default(true),
  listeners: z.array(ListenerSchema).min(1, "expected at least one listener"),
  /** Peers allowed to send (addresses or CIDRs). Default: loopback only. */
  allow: z.array(cidr).default(["127.0.0.0/8", "::1/128"]),
  limits: z
    .strictObject({
      maxFrameBytes: count(64 * 1024),
      maxConnections: count(5000),
      maxConnectionsPerPeer: count(4),
      idleTimeout: duration("5m"),
      handshakeTimeout: duration("10s"),
      udpReceiveBufferBytes: count(4 * 1024 * 1024),
    })
    .prefault({}),
  spool: z
    .strictObject({
      commitInterval: duration("50ms"),
      commitFrames: count(500),
      /** Frames received but not yet processed above which TCP/TLS sockets are paused. */
      highWaterFrames: count(20_000),
      lowWaterFrames: count(5_000),
      /** Frames waiting for their commit above which UDP datagrams are dropped (counted). */
      maxPendingFrames: count(50_000),
      /** Delete frames no restart needs any more (false keeps every frame, for audits and tests). */
      prune: z.boolean().default(true),
    })
    .prefault({}),
  processing: z
    .strictObject({
      /** How long records wait for the records of the same operation (the attribution delay). */
      delay: duration("30s"),
      /**
       * How much longer an operation waits when a later operation of its session may still name
       * its account (batch reading waits two hours of log time). 0: not at all.
       */
      chainWait: z
        .string()
        .default("0s")
        .transform((s, ctx) => {
          if (/^0+(ms|s|m)?$/.test(s.trim())) return 0;
          const ms = parseDuration(s);
          if (ms === undefined) {
            ctx.addIssue({ code: "custom", message: "expected a duration such as 0s, 10m or 2h" });
            return z.NEVER;
          }
          return ms;
        }),
      /** How often the correlator releases and the detector is flushed. */
      releaseStep: duration("1s"),
      assumeTz: z.string().default("UTC"),
      batchFrames: count(2000),
    })
    .prefault({}),
  outputs: z.array(OutputSchema).default([]),
  http: z
    .strictObject({
      enabled: z.boolean().default(true),
      address: address.default("127.0.0.1"),
      port: port.default(8514),
      /** Require a token even on loopback. Beyond loopback a token is always required. */
      requireToken: z.boolean().default(false),
      /** TLS for the HTTP side (PEM files); recommended beyond loopback. */
      cert: z.string().optional(),
      key: z.string().optional(),
    })
    .prefault({}),
});

export type ServeConfigInput = z.input<typeof ServeConfigSchema>;
export type ServeConfig = z.output<typeof ServeConfigSchema>;
export type ListenerConfig = ServeConfig["listeners"][number];
export type OutputConfig = ServeConfig["outputs"][number];

const isLoopback = (a: string): boolean => a === "::1" || a.startsWith("127.");

/** The line of the field at a path in the file (a YAML document read with a line counter). */
export type LineOf = (path: readonly PropertyKey[]) => number | undefined;

/**
 * Validates a parsed document; `base` resolves relative paths; `name` prefixes messages, with the
 * line of the field when `lineOf` knows it (`serve.yaml:12: listeners[1].port: …`).
 */
export function validateServeConfig(
  doc: unknown,
  base: string,
  name = "config",
  lineOf: LineOf = () => undefined,
): ServeConfig {
  const where = (path: readonly PropertyKey[]): string => {
    const line = lineOf(path);
    return line === undefined ? name : `${name}:${line}`;
  };
  const parsed = ServeConfigSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 10).map((i) => {
      const path = i.path
        .map((p, n) => (typeof p === "number" ? `[${p}]` : `${n ? "." : ""}${String(p)}`))
        .join("");
      return `${where(i.path)}: ${path || "(top)"}: ${i.message}`;
    });
    throw new GuestOpsError("ERR_USAGE", `invalid serve configuration\n${lines.join("\n")}`, {
      hint: "See docs/serve.md for the configuration fields.",
    });
  }
  const config = parsed.data;
  const problems: { at: readonly PropertyKey[]; text: string }[] = [];
  for (const [i, l] of config.listeners.entries()) {
    if (l.protocol === "tls" && (l.cert === undefined || l.key === undefined)) {
      problems.push({
        at: ["listeners", i],
        text: `listeners[${i}]: a tls listener needs cert and key`,
      });
    }
    if (l.protocol !== "tls" && (l.cert ?? l.key ?? l.ca) !== undefined) {
      problems.push({
        at: ["listeners", i],
        text: `listeners[${i}]: cert, key and ca are for tls listeners`,
      });
    }
    if (l.requireClientCert && l.ca === undefined) {
      problems.push({ at: ["listeners", i], text: `listeners[${i}]: requireClientCert needs ca` });
    }
  }
  const ports = new Set<string>();
  for (const [i, l] of config.listeners.entries()) {
    if (l.port === 0) continue;
    const key = `${l.protocol === "udp" ? "udp" : "tcp"}:${l.address}:${l.port}`;
    if (ports.has(key)) {
      problems.push({
        at: ["listeners", i, "port"],
        text: `listeners[${i}]: ${key} is used twice`,
      });
    }
    ports.add(key);
  }
  if (config.spool.lowWaterFrames >= config.spool.highWaterFrames) {
    problems.push({
      at: ["spool", "lowWaterFrames"],
      text: "spool: lowWaterFrames must be below highWaterFrames",
    });
  }
  if ((config.http.cert === undefined) !== (config.http.key === undefined)) {
    problems.push({ at: ["http"], text: "http: cert and key go together" });
  }
  if (problems.length > 0) {
    throw new GuestOpsError(
      "ERR_USAGE",
      `invalid serve configuration\n${problems.map((p) => `${where(p.at)}: ${p.text}`).join("\n")}`,
      { hint: "See docs/serve.md for the configuration fields." },
    );
  }
  const at = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : resolve(base, p);
  return {
    ...config,
    ...(config.store !== undefined ? { store: at(config.store) } : {}),
    ...(config.policy !== undefined ? { policy: at(config.policy) } : {}),
    listeners: config.listeners.map((l) => ({
      ...l,
      ...(l.cert !== undefined ? { cert: at(l.cert) } : {}),
      ...(l.key !== undefined ? { key: at(l.key) } : {}),
      ...(l.ca !== undefined ? { ca: at(l.ca) } : {}),
    })),
    outputs: config.outputs.map((o) =>
      o.type === "ndjson" ? { ...o, path: resolve(base, o.path) } : o,
    ),
    http: {
      ...config.http,
      ...(config.http.cert !== undefined ? { cert: at(config.http.cert) } : {}),
      ...(config.http.key !== undefined ? { key: at(config.http.key) } : {}),
    },
  };
}

/** Reads and validates the configuration file at `file`. */
export function loadServeConfig(file: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new GuestOpsError(
      isSystemError(cause) && cause.code === "ENOENT"
        ? "ERR_INPUT_MISSING"
        : "ERR_INPUT_UNREADABLE",
      `cannot read the serve configuration ${file}`,
      { cause },
    );
  }
  const lines = new LineCounter();
  const parsed = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const error = parsed.errors[0];
  let doc: unknown;
  try {
    if (error) throw error;
    doc = parsed.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    const at = error ? `:${lines.linePos(error.pos[0]).line}` : "";
    const why = cause instanceof Error ? (cause.message.split("\n")[0] ?? "") : String(cause);
    throw new GuestOpsError(
      "ERR_USAGE",
      `the serve configuration ${file} is not valid YAML\n${file}${at}: YAML: ${why}`,
      { cause },
    );
  }
  const lineOf: LineOf = (path) => {
    let node: unknown = parsed.contents;
    let offset = (node as Node | null)?.range?.[0];
    for (const seg of path) {
      const next: unknown = isMap(node)
        ? node.items.find((p) => String((p.key as { value?: unknown } | null)?.value) === seg)
            ?.value
        : isSeq(node) && typeof seg === "number"
          ? node.items[seg]
          : undefined;
      const at = (next as Node | null | undefined)?.range?.[0];
      if (at === undefined) break;
      node = next;
      offset = at;
    }
    return offset === undefined ? undefined : lines.linePos(offset).line;
  };
  return validateServeConfig(doc, dirname(resolve(file)), file, lineOf);
}

/** Whether the HTTP side must demand a token: beyond loopback always. */
export const tokenRequired = (config: ServeConfig): boolean =>
  config.http.requireToken || !isLoopback(config.http.address);

export { isLoopback };
