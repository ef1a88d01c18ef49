// The library's attribution and detection alone, measured by `npm run bench`: the records of the
// given inputs are read into memory first (readInputs, untimed for the rates), then
// createCorrelator add + finish is timed (attribution ops/s), then detect() with the built-in rules
// and the default policy (detection ops/s). The vpxd coverage spans are gathered by
// src/pipeline.ts's VpxdCoverage. Prints the figures as JSON.
//
//   node scripts/bench-attribute.mjs [--input-host PATH=HOST]... PATH...
import { createCorrelator } from "../dist/attribute/correlate.js";
import { detect } from "../dist/detect/engine.js";
import { BUILTIN_RULES } from "../dist/detect/registry.js";
import { readInputs } from "../dist/ingest/read.js";
import { defaultPolicy } from "../dist/policy/load.js";
import { VpxdCoverage } from "../dist/pipeline.js";

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const records = [];
const coverage = new VpxdCoverage();

const paths = [];
const inputHosts = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--input-host") {
    const v = process.argv[++i] ?? "";
    const at = v.lastIndexOf("=");
    inputHosts.push(at < 0 ? { host: v } : { path: v.slice(0, at), host: v.slice(at + 1) });
  } else paths.push(a);
}

let t = process.hrtime.bigint();
await readInputs(
  paths,
  { inputHosts },
  {
    record: (record) => {
      records.push(record);
      coverage.add(record);
    },
  },
);
const readSeconds = seconds(t);

t = process.hrtime.bigint();
const correlator = createCorrelator();
for (const record of records) correlator.add(record);
const { operations } = correlator.finish();
const attributeSeconds = seconds(t);
const heapAfterAttribution = process.memoryUsage().heapUsed;

t = process.hrtime.bigint();
const detection = detect(operations, {
  rules: BUILTIN_RULES,
  policy: defaultPolicy(),
  coverage: coverage.spans(),
});
const detectSeconds = seconds(t);

process.stdout.write(
  `${JSON.stringify({
    records: records.length,
    operations: operations.length,
    readSeconds,
    attributeSeconds,
    detectSeconds,
    alerts: detection.alerts.length,
    incidents: detection.incidents.length,
    heapAfterAttributionMb: heapAfterAttribution / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
