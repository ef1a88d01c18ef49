// Rewrites docs/rules.md's option tables from the rule registry (`npm run docs`).
import { readFileSync, writeFileSync } from "node:fs";
import { renderOptionBlocks } from "../src/detect/options-doc.js";
import { BUILTIN_RULES } from "../src/detect/registry.js";

const path = new URL("../docs/rules.md", import.meta.url);
const { text, missing, unknown } = renderOptionBlocks(readFileSync(path, "utf8"), BUILTIN_RULES);
writeFileSync(path, text);
if (missing.length || unknown.length) {
  console.error(
    `docs/rules.md: no option table for ${missing.join(", ") || "-"}; unknown ${unknown.join(", ") || "-"}`,
  );
  process.exit(1);
}
console.log("docs/rules.md: option tables written");
