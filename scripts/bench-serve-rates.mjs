// `npm run bench` (last section) and `npm run bench:serve-rates`: sustained frames per second and
// end-to-end alert latency through `guestops serve` at paced rates (default 1k, 10k and 50k frames/s,
// 10 s each), from the built CLI (dist/), on loopback.
//
// For each rate a new server (new store) runs with `delay: 500ms`, `releaseStep: 100ms`, a TCP and a
// UDP listener and an NDJSON output. A sender in a worker thread keeps a steady rate for
// BENCH_SERVE_SECONDS: background traffic of live-timestamped hostd and vCenter lines (task
// completions, vpxuser sessions from loopback, vCenter events), half over UDP and half over one
// TCP connection (octet-counted), and once a second an attack on its own host over TCP: vpxuser
// logging in from a workstation address and starting a program on a VM whose name is unique to the
// attack (the stolen-vpxuser pattern, one alert each). The time the attack's last line is written is
// recorded; the main thread timestamps the alert's `opened` event on the server-sent event stream
// (`/api/stream`) and its line in the NDJSON file (polled every 10 ms). Reported per rate: frames
// sent (and the rate achieved), received per listener, spooled, dropped by reason, processed, the
// processing lag when the sender stops and the time to drain it, the kernel's UDP receive-buffer
// drops (`RcvbufErrors`, system wide), the server's peak RSS (VmHWM), backpressure pauses, and alert
// latency p50 / p95 / max from the SSE stream and the NDJSON file, with alerts missing after 15 s.
//
// BENCH_SERVE=0 skips it; BENCH_SERVE_RATES=1000,10000 and BENCH_SERVE_SECONDS=N change the runs,
// BENCH_SERVE_BATCH=N the server's processing.batchFrames.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const ROOT = new URL("..", import.meta.url).pathname;

async function main() {
  const rates = (process.env.BENCH_SERVE_RATES ?? "1000,10000,50000")
    .split(",")
    .map(Number)
    .filter((n) => n > 0);
  const seconds = Number(process.env.BENCH_SERVE_SECONDS ?? 10);
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  console.log(
    `\nguestops serve at paced rates — ${seconds} s per rate, background half UDP / half TCP (octet-counted), one attack a second over TCP; delay 500ms, releaseStep 100ms`,
  );
  console.log(
    `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model.trim() ?? "cpu"}, load average ${load} before the runs; the sender shares the machine with the server`,
  );
  const rows = [];
  for (const rate of rates) rows.push(await runRate(rate, seconds));
  console.log(
    `\n${"target/s".padStart(8)} ${"sent/s".padStart(8)} ${"received".padStart(17)} ${"spooled".padStart(8)} ${"dropped".padStart(20)} ${"lag@end".padStart(8)} ${"drain".padStart(6)} ${"rcvbuf".padStart(6)} ${"RSS".padStart(7)} ${"pauses".padStart(6)}  alert latency SSE p50/p95/max (NDJSON)   alerts`,
  );
  for (const r of rows) console.log(r.line);
  for (const r of rows) for (const n of r.notes) console.log(`  ${r.rate}/s: ${n}`);
  console.log(
    `load average after the runs: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
}

/** The server of the run in progress, killed if this script ends early. */
let current;
process.on("exit", () => current?.kill("SIGKILL"));

function startServer(dir, config) {
  const file = join(dir, "serve.yaml");
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  const child = spawn(
    process.execPath,
    [join(ROOT, "dist/cli/main.js"), "serve", "--config", file],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  current = child;
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    child.stdout.on("data", (d) => {
      out += d;
      if (/^ready$/m.test(out)) {
        const port = (p) =>
          Number(new RegExp(`^listening: ${p} ${p} \\S+ (\\d+)$`, "m").exec(out)[1]);
        resolve({
          child,
          tcp: port("tcp"),
          udp: port("udp"),
          http: /^dashboard: (\S+)$/m.exec(out)[1],
        });
      }
    });
  });
}

const health = async (s) => (await fetch(new URL("/api/health", s.http))).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function procStatus(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function rcvbufErrors() {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp:"));
    const names = lines[0].split(/\s+/);
    const values = lines[1].split(/\s+/);
    return Number(values[names.indexOf("RcvbufErrors")]);
  } catch {
    return undefined;
  }
}

/** Alerts' `opened` events as they arrive on the SSE stream: marker → arrival time (ms). */
function watchStream(s, seen) {
  const controller = new AbortController();
  const done = (async () => {
    const res = await fetch(new URL("/api/stream?after=0", s.http), { signal: controller.signal });
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of res.body) {
      const now = Date.now();
      text += decoder.decode(chunk, { stream: true });
      let cut;
      while ((cut = text.indexOf("\n\n")) >= 0) {
        const message = text.slice(0, cut);
        text = text.slice(cut + 2);
        const m = /atk(\d+)x/.exec(message);
        if (m && /"change":"opened"/.test(message) && !seen.has(Number(m[1])))
          seen.set(Number(m[1]), now);
      }
    }
  })().catch(() => undefined);
  return { stop: () => controller.abort(), done };
}

/** The NDJSON output's new lines, polled every 10 ms: marker → time first seen (ms). */
function watchFile(path, seen) {
  let fd;
  let offset = 0;
  let rest = "";
  const buffer = Buffer.alloc(1 << 20);
  const timer = setInterval(() => {
    try {
      fd ??= openSync(path, "r");
    } catch {
      return;
    }
    const now = Date.now();
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) break;
      offset += n;
      rest += buffer.toString("utf8", 0, n);
    }
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      const m = /atk(\d+)x/.exec(l);
      if (m && l.includes('"change":"opened"') && !seen.has(Number(m[1])))
        seen.set(Number(m[1]), now);
    }
  }, 10);
  return { stop: () => clearInterval(timer) };
}

const quantile = (sorted, q) =>
  sorted.length === 0
    ? undefined
    : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const ms = (v) => (v === undefined ? "-" : `${Math.round(v)}`);

async function runRate(rate, seconds) {
  const dir = mkdtempSync(join(tmpdir(), "guestops-bench-rates-"));
  const ndjson = join(dir, "alerts.ndjson");
  const s = await startServer(dir, {
    store: join(dir, "bench.db"),
    listeners: [
      { name: "tcp", protocol: "tcp", port: 0 },
      { name: "udp", protocol: "udp", port: 0 },
    ],
    processing: {
      delay: "500ms",
      releaseStep: "100ms",
      ...(process.env.BENCH_SERVE_BATCH
        ? { batchFrames: Number(process.env.BENCH_SERVE_BATCH) }
        : {}),
    },
    outputs: [{ type: "ndjson", path: ndjson }],
    http: { port: 0 },
  });
  const sse = new Map();
  const file = new Map();
  const stream = watchStream(s, sse);
  const poll = watchFile(ndjson, file);
  await sleep(300);
  const rcvbuf0 = rcvbufErrors();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { tcp: s.tcp, udp: s.udp, rate, seconds, base: rate * 1000 },
  });
  const sent = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const atEnd = await health(s);
  const lagAtEnd = atEnd.spool.spooled - atEnd.spool.processed + atEnd.spool.pending;
  // drain: every TCP frame received, everything received spooled and processed (at most 60 s);
  // UDP datagrams are not waited for (the ones missing by then were lost)
  const drainStart = Date.now();
  const total = sent.tcp + sent.udp;
  let h;
  for (;;) {
    h = await health(s);
    const c = h.counters;
    const settled =
      (c.received.tcp ?? 0) >= sent.tcp &&
      c.spooled >= c.receivedTotal &&
      c.processing.frames >= c.spooled;
    if (settled || Date.now() - drainStart > 60_000) break;
    await sleep(50);
  }
  const drainMs = Date.now() - drainStart;
  // alerts: wait up to 15 s after the drain for each attack's alert
  const attacks = sent.attacks;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && attacks.some((a) => !sse.has(a.n) || !file.has(a.n)))
    await sleep(50);
  stream.stop();
  poll.stop();
  const rss = procStatus(s.child.pid, "VmHWM");
  const rcvbuf = rcvbuf0 === undefined ? undefined : rcvbufErrors() - rcvbuf0;
  s.child.kill("SIGTERM");
  await new Promise((r) => s.child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });

  const lat = (seen) =>
    attacks
      .filter((a) => seen.has(a.n))
      .map((a) => seen.get(a.n) - a.sentAt)
      .sort((a, b) => a - b);
  const viaSse = lat(sse);
  const viaFile = lat(file);
  const c = h.counters;
  const dropped = Object.entries(c.dropped)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const sentRate = total / (sent.elapsedMs / 1000);
  const notes = [];
  if (sentRate < rate * 0.95)
    notes.push(
      `the sender reached ${Math.round(sentRate)} frames/s, not ${rate} (${sent.tcpWaits} waits for TCP drain: the server paused reading, or the sender's own CPU share)`,
    );
  const udpLost = sent.udp - (c.received.udp ?? 0);
  if (udpLost > 0)
    notes.push(
      `${udpLost} of ${sent.udp} UDP datagrams never reached the listener (${((udpLost / sent.udp) * 100).toFixed(1)} %; kernel RcvbufErrors +${rcvbuf ?? "?"}, counted system wide)`,
    );
  if (sent.tcp !== (c.received.tcp ?? 0))
    notes.push(`TCP: ${sent.tcp} sent, ${c.received.tcp ?? 0} received`);
  if (lagAtEnd > rate)
    notes.push(
      `processing could not keep up: ${lagAtEnd} frames behind when the sender stopped (${(lagAtEnd / rate).toFixed(1)} s of traffic), drained in ${(drainMs / 1000).toFixed(1)} s`,
    );
  if (viaSse.length < attacks.length)
    notes.push(
      `${attacks.length - viaSse.length} of ${attacks.length} alerts not on the SSE stream after 15 s`,
    );
  if (viaFile.length < attacks.length)
    notes.push(
      `${attacks.length - viaFile.length} of ${attacks.length} alerts not in the NDJSON file after 15 s`,
    );
  const line = [
    String(rate).padStart(8),
    String(Math.round(sentRate)).padStart(8),
    `${c.received.tcp ?? 0}+${c.received.udp ?? 0}`.padStart(17),
    String(c.spooled).padStart(8),
    (dropped || "0").padStart(20),
    String(lagAtEnd).padStart(8),
    `${(drainMs / 1000).toFixed(1)}s`.padStart(6),
    String(rcvbuf ?? "?").padStart(6),
    `${rss === undefined ? "?" : Math.round(rss / 2 ** 20)} MB`.padStart(7),
    String(c.backpressure.pauses).padStart(6),
    `  ${ms(quantile(viaSse, 0.5))}/${ms(quantile(viaSse, 0.95))}/${ms(viaSse.at(-1))} ms (${ms(quantile(viaFile, 0.5))}/${ms(quantile(viaFile, 0.95))}/${ms(viaFile.at(-1))})`.padEnd(
      40,
    ),
    `${viaSse.length}/${attacks.length}`,
  ].join(" ");
  return { rate, line, notes };
}

// ---- the sender (worker thread) ----

async function sender({ tcp, udp, rate, seconds, base }) {
  const net = await import("node:net");
  const dgram = await import("node:dgram");
  const socket = await new Promise((resolve, reject) => {
    const c = net.connect(tcp, "127.0.0.1", () => resolve(c));
    c.once("error", reject);
  });
  socket.setNoDelay(true);
  const udpSocket = dgram.createSocket({ type: "udp4", sendBufferSize: 4 << 20 });
  udpSocket.connect(udp, "127.0.0.1");
  await new Promise((r) => udpSocket.once("connect", r));
  let udpErrors = 0;
  const octet = (text) => {
    const b = Buffer.from(text);
    return Buffer.concat([Buffer.from(`${b.length} `), b]);
  };
  const events = new Map(); // host → last hostd event number
  const ev = (host) => {
    const n = (events.get(host) ?? 1000) + 1;
    events.set(host, n);
    return n;
  };
  let vcKey = 90_000;
  let i = 0;
  /** One background line: mostly hostd tasks, vpxuser sessions from loopback, vCenter events. */
  const background = (now) => {
    const t = new Date(now).toISOString();
    const k = i++;
    const host = `esx${String(k % 40).padStart(2, "0")}.corp.example`;
    const sid = (0x50000000 + (k % 100000)).toString(16);
    switch (k % 10) {
      case 0:
        return `<166>${t} ${host} Hostd[2101883]: [Originator@6876 sub=Vimsvc.HaSessionManager opID=bg-${k} sid=${sid}] Accepted password for user vpxuser from 127.0.0.1 - session=${sid}-bbec-e348-3c53-0b3ee2caa9f7`;
      case 1:
        return `<166>${t} ${host} Hostd[2101889]: [Originator@6876 sub=Vimsvc.ha-eventmgr sid=${sid}] Event ${ev(host)} : User vpxuser@127.0.0.1 logged in as VMware-client/6.5.0`;
      case 2:
      case 3: {
        const key = vcKey++;
        return `<14>1 ${t} vcsa01 vpxd 4127 - -  Event [${key}] [1-1] [${t}] [vim.event.VmReconfiguredEvent] [info] [CORP\\svc-deploy] [PAR-DC1] [${key}] [Reconfigured vm${k % 400} on ${host} in PAR-DC1]`;
      }
      case 4:
        return `<166>${t} ${host} Vpxa[2100301]: [Originator@6876 sub=vpxLro opID=bg-${k}] [VpxLRO] -- FINISH lro-${k}`;
      default:
        return `<166>${t} ${host} Hostd[2101914]: [Originator@6876 sub=Vimsvc.TaskManager opID=bg-${k}] Task Completed : haTask-${k}-vim.SearchIndex.findByUuid status success`;
    }
  };
  /** An attack on its own host: vpxuser from a workstation, then a program started on a VM. */
  const attack = (n, now) => {
    const t = (d) => new Date(now + d).toISOString();
    const host = `esx-atk${n}.corp.example`;
    const sid = (0x52000000 + n).toString(16);
    const opid = `a${n.toString(16).padStart(7, "0")}`;
    const vm = `dc-atk${n}x`;
    return [
      `<166>${t(0)} ${host} Hostd[2099452]: [Originator@6876 sub=Vimsvc.HaSessionManager opID=${opid} sid=${sid}] Accepted password for user vpxuser from 10.10.99.50 - session=${sid}-6eb6-ea60-13e1-82e754c1d5f7`,
      `<166>${t(1)} ${host} Hostd[2099467]: [Originator@6876 sub=Vimsvc opID=${opid} sid=${sid}] [Auth]: User vpxuser`,
      `<166>${t(2)} ${host} Hostd[2099445]: [Originator@6876 sub=Vimsvc.ha-eventmgr opID=${opid} sid=${sid}] Event ${ev(host)} : User vpxuser@10.10.99.50 logged in as pyvmomi Python/3.11.6 (Linux; 6.1.0-18-amd64; x86_64)`,
      `<166>${t(3)} ${host} Hostd[2099461]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${ev(host)} : Guest operation Start Program performed on Virtual machine ${vm}.`,
    ];
  };

  const attacks = [];
  let sentTcp = 0;
  let sentUdp = 0;
  let tcpWaits = 0;
  let due = 0;
  let nextAttack = 500;
  let n = base;
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  while (Date.now() < end) {
    const now = Date.now();
    due = Math.floor(((now - t0) / 1000) * rate);
    const parts = [];
    while (sentTcp + sentUdp < due) {
      const line = background(now);
      if ((sentTcp + sentUdp) % 2 === 0) {
        parts.push(octet(line));
        sentTcp++;
      } else {
        udpSocket.send(line, (e) => {
          if (e) udpErrors++;
        });
        sentUdp++;
      }
    }
    let attackOf;
    if (now - t0 >= nextAttack && now < end - 500) {
      nextAttack += 1000;
      attackOf = ++n;
      for (const l of attack(attackOf, now)) parts.push(octet(l));
      sentTcp += 4;
    }
    if (parts.length > 0) {
      const ok = socket.write(Buffer.concat(parts));
      if (attackOf !== undefined) attacks.push({ n: attackOf, sentAt: Date.now() });
      if (!ok) {
        tcpWaits++;
        await new Promise((r) => socket.once("drain", r));
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const elapsedMs = Date.now() - t0;
  await new Promise((r) => socket.end(r));
  await new Promise((r) => setTimeout(r, 200));
  udpSocket.close();
  parentPort.postMessage({ tcp: sentTcp, udp: sentUdp, udpErrors, tcpWaits, attacks, elapsedMs });
}

if (!isMainThread) await sender(workerData);
else if (process.env.BENCH_SERVE === "0") console.log("serve rates: skipped (BENCH_SERVE=0)");
else await main();
