// `npm run bench:serve`: sustained frames per second through `guestops serve` (receive, spool, read,
// attribute, detect) on loopback, one TCP sender with octet-counted frames, and end-to-end alert
// latency (last line sent → alert in the event log) at a paced rate. Uses the built CLI (dist/).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const FRAMES = Number(process.env.BENCH_SERVE_FRAMES ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), "guestops-bench-serve-"));

function start(config) {
  const file = join(dir, "serve.yaml");
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  const child = spawn(
    process.execPath,
    [join(ROOT, "dist/cli/main.js"), "serve", "--config", file],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (/^ready$/m.test(out)) {
        const tcp = Number(/^listening: tcp tcp \S+ (\d+)$/m.exec(out)[1]);
        const http = /^dashboard: (\S+)$/m.exec(out)[1];
        resolve({ child, tcp, http });
      }
    });
  });
}

const health = async (s) => (await fetch(new URL("/api/health", s.http))).json();
const frame = (text) => {
  const b = Buffer.from(text);
  return Buffer.concat([Buffer.from(`${b.length} `), b]);
};

// a hostd-like stream: session and event lines of many hosts, most of them not guest operations
const line = (i) => {
  const t = new Date(Date.UTC(2026, 2, 10) + i * 10).toISOString();
  const host = `esx${String(i % 50).padStart(2, "0")}.corp.example`;
  return i % 10 === 0
    ? `<166>${t} ${host} Hostd[2101914]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${i} : Guest operation List Processes performed on Virtual machine vm${i % 300}.`
    : `<166>${t} ${host} Hostd[2101914]: [Originator@6876 sub=Vimsvc.TaskManager opID=bench-${i}] Task Completed : haTask-${i}-vim.SearchIndex.findByUuid status success`;
};

const s = await start({
  store: join(dir, "bench.db"),
  listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
  processing: { delay: "2s", releaseStep: "500ms" },
  http: { port: 0 },
});
const t0 = Date.now();
await new Promise((resolve, reject) => {
  const socket = net.connect(s.tcp, "127.0.0.1", async () => {
    for (let i = 0; i < FRAMES; i += 1000) {
      const parts = [];
      for (let j = i; j < Math.min(FRAMES, i + 1000); j++) parts.push(frame(line(j)));
      if (!socket.write(Buffer.concat(parts))) await new Promise((r) => socket.once("drain", r));
    }
    socket.end();
  });
  socket.on("error", reject);
  socket.on("close", resolve);
});
const sentMs = Date.now() - t0;
let h;
for (;;) {
  h = await health(s);
  if (h.counters.processing.frames >= FRAMES) break;
  await new Promise((r) => setTimeout(r, 100));
}
const doneMs = Date.now() - t0;
console.log(
  `serve: ${FRAMES} frames over one TCP connection: sent in ${(sentMs / 1000).toFixed(1)} s, spooled and processed in ${(doneMs / 1000).toFixed(1)} s = ${Math.round(FRAMES / (doneMs / 1000))} frames/s sustained; ${h.counters.processing.records} records, ${h.counters.processing.operations} operations; backpressure pauses ${h.counters.backpressure.pauses}; dropped ${JSON.stringify(h.counters.dropped)}`,
);
s.child.kill("SIGTERM");
await new Promise((r) => s.child.once("exit", r));
rmSync(dir, { recursive: true, force: true });
