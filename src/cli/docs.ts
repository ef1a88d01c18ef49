/**
 * The documentation shipped with the package (docs/ beside dist/ or src/), found from this
 * module's own location, so `guestops help <topic>` works from a checkout, a global install and
 * an `npx` run alike.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root: the nearest folder above this module holding package.json and docs/. */
export function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "docs"))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** Topic name → file: every docs/*.md (`output`, `policy`, ...) and `schema`. */
export function docTopics(): ReadonlyMap<string, string> {
  const root = packageRoot();
  const topics = new Map<string, string>();
  if (root === undefined) return topics;
  const docs = join(root, "docs");
  for (const name of readdirSync(docs).sort()) {
    if (name.endsWith(".md")) topics.set(name.slice(0, -3).toLowerCase(), join(docs, name));
  }
  const schema = join(docs, "schema", "operation.schema.json");
  if (existsSync(schema)) topics.set("schema", schema);
  return topics;
}

/** The text of a topic (small files shipped with the package), or undefined. */
export function readTopic(topic: string): string | undefined {
  const file = docTopics().get(topic.toLowerCase().replace(/\.md$/, ""));
  return file === undefined ? undefined : readFileSync(file, "utf8");
}
