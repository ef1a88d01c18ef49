// The library path measured by `npm run bench`: readInputs (the real pipeline: detection, the
// registered readers' markers through the prefilter, the parsers, SHA-256 of each file) on the
// given paths, records counted and dropped. Prints the summary's essentials as JSON.
//
//   node scripts/bench-read.mjs FILE...
import { readInputs } from "../dist/ingest/read.js";

let records = 0;
const summary = await readInputs(process.argv.slice(2), {}, { record: () => void records++ });
const input = summary.inputs.find((i) => i.status === "read");
process.stdout.write(
  `${JSON.stringify({
    records,
    format: input?.source.format,
    lines: input?.lines,
    linesPassed: input?.linesPassed,
    recordsByKind: input?.recordsByKind,
    sha256: input?.source.sha256,
  })}\n`,
);
