/**
 * What the JSON document readers (vCenter events as JSON, SIEM exports) share: records split out
 * of the byte stream and parsed one at a time, with every problem a counted issue; fields matched
 * case-insensitively; scalars unwrapped; the sniffed head.
 */
import { splitJsonElements, type JsonElement, type JsonSplitProblem } from "../json-elements.js";
import type { ReaderContext } from "../types.js";
import { excerpt } from "./excerpt.js";

/** An object's own fields by lower-cased name (first spelling wins); never a plain-object lookup. */
export function fieldsOf(value: unknown): Map<string, unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const fields = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    if (!fields.has(key)) fields.set(key, v);
  }
  return fields;
}

/** A string or number, unwrapping the vSphere JSON API's `{"_typeName": ..., "_value": ...}`. */
export function scalarOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "object" && value !== null && Object.hasOwn(value, "_value")) {
    return scalarOf((value as { _value: unknown })._value);
  }
  return undefined;
}

/** Report a splitter problem as a counted issue. */
export function reportSplitProblem(ctx: ReaderContext, p: JsonSplitProblem): void {
  switch (p.kind) {
    case "oversized":
      ctx.issue(
        "bad_json",
        `JSON record of ${p.size} characters is over the size limit: skipped`,
        p.line,
      );
      break;
    case "unexpected":
      ctx.issue("bad_json", "text that is not JSON between records: skipped", p.line, p.excerpt);
      break;
    case "truncated":
      ctx.issue("truncated_input", "JSON input ends inside a record or array", p.line, p.excerpt);
      break;
  }
}

/** One top-level record and its parsed value. */
export interface JsonRecord {
  readonly el: JsonElement;
  readonly value: unknown;
}

/**
 * The records of a JSON document, parsed; splitter problems and records that do not parse are
 * reported as issues and passed over.
 */
export async function* jsonRecords(
  bytes: AsyncIterable<Buffer>,
  ctx: ReaderContext,
): AsyncGenerator<JsonRecord> {
  for await (const el of splitJsonElements(bytes, {
    onProblem: (p) => reportSplitProblem(ctx, p),
  })) {
    let value: unknown;
    try {
      value = JSON.parse(el.text);
    } catch (error) {
      const why = error instanceof Error ? error.message : "parse error";
      ctx.issue(
        "bad_json",
        `JSON record does not parse: ${why.slice(0, 120)}`,
        el.line,
        excerpt(el.text),
      );
      continue;
    }
    yield { el, value };
  }
}

/** The sniffed head as one text (BOM and leading space removed), or undefined if it is not JSON. */
export function jsonHead(head: readonly string[]): string | undefined {
  const text = head
    .join("\n")
    .replace(/^\uFEFF/, "")
    .trimStart();
  return text.startsWith("{") || text.startsWith("[") ? text : undefined;
}
