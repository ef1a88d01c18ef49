/**
 * `guestops serve` in a real process on loopback, for the end-to-end tests: writes the
 * configuration, starts the server, reads the bound ports it prints, and offers senders (TCP in
 * both framings, TLS, UDP), a health poll, the event log and test certificates.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { stringify } from "yaml";

export interface Served {
  readonly child: ChildProcess;
  readonly ports: ReadonlyMap<string, number>;
  readonly http: string;
  readonly stderr: () => string;
  /** SIGTERM and wait for the exit. */
  readonly stop: () => Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  readonly kill: () => Promise<void>;
}

const ROOT = new URL("../..", import.meta.url).pathname;

export async function startServe(
  dir: string,
  config: object,
  name = "serve.yaml",
): Promise<Served> {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", "--config", file],
    { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } },
  );
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
  const ports = new Map<string, number>();
  for (const m of out.matchAll(/^listening: (\S+) \S+ \S+ (\d+)$/gm))
    ports.set(m[1] ?? "", Number(m[2]));
  const http = /^dashboard: (\S+)$/m.exec(out)?.[1] ?? "";
  return {
    child,
    ports,
    http,
    stderr: () => err,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** `fetch` JSON from the server. */
export async function getJson<T>(served: Served, path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(new URL(path, served.http), init);
  return (await res.json()) as T;
}

/** Polls `probe` until it returns true (or throws after `ms`). */
export async function until(
  probe: () => Promise<boolean> | boolean,
  ms = 20_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Frames as bytes for one TCP connection: `octet` counted, else newline-terminated. */
export const framed = (frames: readonly string[], octet: boolean): Buffer =>
  Buffer.concat(
    frames.map((f) => {
      const b = Buffer.from(f);
      return octet
        ? Buffer.concat([Buffer.from(`${b.length} `), b])
        : Buffer.concat([b, Buffer.from("\n")]);
    }),
  );

/** Sends the bytes over TCP (or TLS with `ca`) and closes; resolves once the peer has them all. */
export function sendStream(
  port: number,
  bytes: Buffer,
  options: { ca?: Buffer; localAddress?: string; servername?: string } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onConnect = (): void => {
      socket.end(bytes);
    };
    const socket: net.Socket =
      options.ca !== undefined
        ? tls.connect(
            {
              port,
              host: "127.0.0.1",
              ca: options.ca,
              servername: options.servername ?? "localhost",
            },
            onConnect,
          )
        : net.connect(
            {
              port,
              host: "127.0.0.1",
              ...(options.localAddress ? { localAddress: options.localAddress } : {}),
            },
            onConnect,
          );
    socket.on("error", reject);
    socket.on("close", () => resolve());
    socket.resume();
  });
}

/** Sends each frame as one datagram, paced so loopback does not overflow. */
export async function sendUdp(port: number, frames: readonly string[]): Promise<void> {
  const socket = dgram.createSocket("udp4");
  let i = 0;
  for (const f of frames) {
    await new Promise<void>((resolve, reject) =>
      socket.send(Buffer.from(f), port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
    );
    if (++i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  socket.close();
}

/** A sequence-numbered syslog frame that no reader turns into a record (another program). */
export const seqFrame = (tag: string, seq: number): string =>
  `<14>1 2026-03-10T09:00:00.000Z esx-test.example testsender 1 - - seq=${tag}-${seq}`;

/** A CA, a server certificate for localhost and 127.0.0.1 signed by it, and another CA, made with
 * `openssl` in `dir`; undefined when openssl is missing. */
export function makeCertificates(
  dir: string,
): { ca: string; cert: string; key: string; otherCa: string } | undefined {
  const openssl = spawnSync("openssl", ["version"]);
  if (openssl.status !== 0) return undefined;
  const p = (n: string): string => join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const run = (args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
  for (const name of ["ca", "other-ca"]) {
    run([
      "req", "-x509", ...ec, "-keyout", p(`${name}.key`), "-out", p(`${name}.pem`), "-days", "2",
      "-subj", `/CN=guestops test ${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]); // prettier-ignore
  }
  run(["req", ...ec, "-keyout", p("srv.key"), "-out", p("srv.csr"), "-subj", "/CN=localhost"]);
  writeFileSync(
    p("srv.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  run([
    "x509", "-req", "-in", p("srv.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
    "-CAcreateserial", "-out", p("srv.pem"), "-days", "2", "-extfile", p("srv.ext"),
  ]); // prettier-ignore
  return { ca: p("ca.pem"), cert: p("srv.pem"), key: p("srv.key"), otherCa: p("other-ca.pem") };
}

const timeOf = (line: string): number => {
  const m = /\d{4}-\d\d-\d\dT[\d:.]+Z?/.exec(line);
  return m ? Date.parse(m[0].endsWith("Z") ? m[0] : `${m[0]}Z`) : 0;
};

/** The lines of `files` in time order (ties in file order), as one receiver gets them from every sender. */
export function receiverLines(files: readonly string[]): string[] {
  return files
    .flatMap((f) => readFileSync(f, "utf8").split("\n"))
    .filter((l) => l !== "")
    .map((l, i) => ({ l, i, t: timeOf(l) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.l);
}

/** The alert ids `guestops scan --policy POLICY` gives for `lines` written as one receiver file. */
export function scanAlertIds(lines: readonly string[], file: string, policy: string): string[] {
  writeFileSync(file, `${lines.join("\n")}\n`);
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "scan",
      file,
      "--policy",
      policy,
      "-f",
      "json",
    ],
    { encoding: "utf8", maxBuffer: 1 << 28 },
  );
  const json = JSON.parse(r.stdout) as { alerts: { id: string }[] };
  return json.alerts.map((a) => a.id).sort();
}
