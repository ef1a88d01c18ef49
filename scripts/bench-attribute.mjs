// The library's attribution and detection alone, measured by `npm run bench`, as the product runs
// them: streamed. First the inputs are read as the pipeline reads them (side by side in stream
// time) with a hook that only counts records: the cost of reading. Then `analyze()` runs the whole
// pipeline (the same reading, the correlator released by watermark, the incremental detector with
// the built-in rules and the default policy). Attribution + detection is the difference; nothing
// is held in memory between the two. Prints the figures as JSON.
//
//   node scripts/bench-attribute.mjs [--input-host PATH=HOST]... PATH...
import { readInputs } from "../dist/ingest/read.js";
import { defaultPolicy } from "../dist/policy/load.js";
import { analyze } from "../dist/pipeline.js";

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

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

let records = 0;
let t = process.hrtime.bigint();
await readInputs(
  paths,
  { inputHosts, order: "time" },
  {
    record: () => {
      records++;
    },
  },
);
const readSeconds = seconds(t);

t = process.hrtime.bigint();
const analysis = await analyze({ paths, inputHosts, policy: defaultPolicy() });
const pipelineSeconds = seconds(t);

process.stdout.write(
  `${JSON.stringify({
    records,
    operations: analysis.inTimeRange,
    readSeconds,
    pipelineSeconds,
    attributeDetectSeconds: Math.max(pipelineSeconds - readSeconds, 1e-9),
    alerts: analysis.detection.alerts.length,
    incidents: analysis.detection.incidents.length,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
