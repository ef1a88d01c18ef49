/**
 * docs/rules.md's option tables, drawn from each rule's `meta.options` schema (zod → JSON Schema),
 * so the documentation cannot drift from what the policy accepts. `npm run docs` rewrites the
 * tables between `<!-- rule-options:<id> -->` and `<!-- /rule-options -->`; a test fails when they
 * are stale.
 */
import { z } from "zod";
import type { Rule } from "./types.js";

interface PropertySchema {
  readonly type?: string;
  readonly default?: unknown;
  readonly description?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly unknown[];
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown table of a rule's options (`enabled` and `severity` first), one row each. */
export function optionsTable(rule: Rule): string {
  const rows: string[][] = [
    ["`enabled`", "boolean", "`true`", "Run the rule."],
    ["`severity`", "severity", `\`${rule.meta.severity}\``, "The rule's default severity."],
  ];
  if (rule.meta.options) {
    const schema = z.toJSONSchema(rule.meta.options, { unrepresentable: "any", io: "input" }) as {
      properties?: Record<string, PropertySchema>;
    };
    for (const [name, p] of Object.entries(schema.properties ?? {})) {
      const range =
        p.minimum !== undefined || p.maximum !== undefined
          ? ` (${p.minimum ?? "…"} to ${p.maximum ?? "…"})`
          : "";
      const type = p.enum ? p.enum.map((v) => JSON.stringify(v)).join(" \\| ") : (p.type ?? "any");
      rows.push([
        `\`${name}\``,
        `${type}${range}`,
        p.default === undefined
          ? "—"
          : `\`${JSON.stringify(p.default).replace(/^"(.*)"$/, "$1")}\``,
        p.description ?? "",
      ]);
    }
  }
  return [
    "| Option | Type | Default | Meaning |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

const BLOCK = /<!-- rule-options:([\w-]+) -->\n[\s\S]*?<!-- \/rule-options -->/g;

/**
 * `text` with every option block replaced by the table of its rule; `missing` lists rules that
 * have no block, `unknown` the blocks naming no rule.
 */
export function renderOptionBlocks(
  text: string,
  rules: readonly Rule[],
): { text: string; missing: string[]; unknown: string[] } {
  const byId = new Map(rules.map((r) => [r.meta.id, r]));
  const seen = new Set<string>();
  const unknown: string[] = [];
  const out = text.replace(BLOCK, (whole, id: string) => {
    const rule = byId.get(id);
    if (!rule) {
      unknown.push(id);
      return whole;
    }
    seen.add(id);
    return `<!-- rule-options:${id} -->\n${optionsTable(rule)}\n<!-- /rule-options -->`;
  });
  const missing = rules.map((r) => r.meta.id).filter((id) => !seen.has(id));
  return { text: out, missing, unknown };
}
