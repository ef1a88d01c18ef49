// A vCenter event stream of events guestops has no use for (alarm status changes, tasks, logins
// elsewhere excluded): one RFC 5424 line per event, keys consecutive but for the holes asked for.
// For measuring what the event-key path costs (scripts/bench-vc-keys.mjs):
//
//   node scripts/gen-vc-events.mjs OUT [EVENTS] [HOLES]      (default 1000000 events, 10 holes)
//
// Each hole skips 3 keys, spread evenly; the first key is 1000000.
import { createWriteStream } from "node:fs";
import { once } from "node:events";

const [out, eventsArg = "1000000", holesArg = "10"] = process.argv.slice(2);
if (!out) {
  console.error("usage: node scripts/gen-vc-events.mjs OUT [EVENTS] [HOLES]");
  process.exit(2);
}
const events = Number(eventsArg);
const holes = Number(holesArg);
const every = holes > 0 ? Math.floor(events / (holes + 1)) : Number.POSITIVE_INFINITY;
const T0 = Date.parse("2026-03-02T00:00:00.000Z");
const TYPES = [
  [
    "vim.event.AlarmStatusChangedEvent",
    "Alarm 'Host CPU usage' on esx-%.lab changed from Gray to Green",
  ],
  ["vim.event.TaskEvent", "Task: Refresh network information"],
  ["vim.event.VmPoweredOnEvent", "vm-% on esx-%.lab in DC1 is powered on"],
  ["vim.event.EventEx", "Host esx-%.lab in DC1 exited maintenance mode"],
];
const stream = createWriteStream(out);
let key = 1_000_000;
let lines = [];
for (let i = 0; i < events; i++) {
  if (i > 0 && i % every === 0 && i / every <= holes) key += 3; // a hole of 3 keys
  const at = new Date(T0 + i * 50).toISOString();
  const [type, text] = TYPES[i % TYPES.length];
  const desc = text.replaceAll("%", String(i % 97));
  lines.push(
    `<14>1 ${at.replace("Z", "+00:00")} vcsa01.lab vpxd 58650 - -  Event [${key}] [1-1] [${at}] [${type}] [info] [] [DC1] [${key}] [${desc}]`,
  );
  key++;
  if (lines.length === 4096) {
    if (!stream.write(lines.join("\n") + "\n")) await once(stream, "drain");
    lines = [];
  }
}
if (lines.length > 0) stream.write(lines.join("\n") + "\n");
stream.end();
await once(stream, "finish");
