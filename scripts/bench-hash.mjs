// The floor of the plain-file benchmark: the input layer's read of a file and its SHA-256 (the same
// arena, hash worker and reads `readInputs` uses), with nothing scanned or parsed. Prints the
// digest as JSON.
//
//   node scripts/bench-hash.mjs FILE
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { HashService, openOuter } from "../dist/ingest/outer.js";

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: node scripts/bench-hash.mjs FILE\n");
  process.exit(2);
}
const absolute = resolve(path);
const hashes = new HashService();
hashes.prepare(); // as readInputs does for a large input
const entry = { kind: "file", path, absolute, size: statSync(absolute).size };
const outer = openOuter(
  entry,
  () => process.stdin,
  hashes,
  () => undefined,
);
let bytes = 0;
for await (const chunk of outer.chunks) bytes += chunk.length;
const sha256 = await outer.digest();
await hashes.close();
process.stdout.write(`${JSON.stringify({ bytes, sha256 })}\n`);
