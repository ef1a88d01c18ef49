/**
 * The output contract: documents written by the formatter validate against the published JSON
 * Schema (docs/schema/operation.schema.json), which forbids undeclared fields.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { correlate } from "../attribute/correlate.js";
import { summarise } from "../attribute/summary.js";
import {
  artefactsHostd,
  artefactsVmx,
  kb416771,
  obs,
  sess,
  source,
  vic3029,
} from "../attribute/fixtures/records.js";
import type { CanonicalRecord } from "../model/record.js";
import { formatOperations, type EventsContext } from "./operations.js";

type Schema = Record<string, unknown>;

const SCHEMA = JSON.parse(
  readFileSync(
    fileURLToPath(new URL("../../docs/schema/operation.schema.json", import.meta.url)),
    "utf8",
  ),
) as Schema;

const typeOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;

/** A small validator for the keywords the schema uses. Returns the problems found. */
function validate(value: unknown, schema: Schema, path = "$"): string[] {
  if (typeof schema["$ref"] === "string") {
    const name = schema["$ref"].replace("#/$defs/", "");
    const defs = SCHEMA["$defs"] as Record<string, Schema>;
    const target = defs[name];
    if (!target) return [`${path}: unknown $ref ${schema["$ref"]}`];
    return validate(value, target, path);
  }
  const errors: string[] = [];
  if (Array.isArray(schema["oneOf"])) {
    const ok = (schema["oneOf"] as Schema[]).filter((s) => validate(value, s, path).length === 0);
    if (ok.length !== 1) errors.push(`${path}: matches ${ok.length} of oneOf`);
    return errors;
  }
  if ("const" in schema && value !== schema["const"])
    errors.push(`${path}: not ${String(schema["const"])}`);
  if (Array.isArray(schema["enum"]) && !(schema["enum"] as unknown[]).includes(value)) {
    errors.push(`${path}: ${String(value)} not in enum`);
  }
  const type = schema["type"];
  if (typeof type === "string") {
    const actual = typeOf(value);
    const fits = actual === type || (type === "number" && actual === "integer");
    if (!fits) return [...errors, `${path}: ${actual} is not ${type}`];
  }
  if (typeof value === "string" && typeof schema["pattern"] === "string") {
    if (!new RegExp(schema["pattern"]).test(value))
      errors.push(`${path}: ${value} does not match ${schema["pattern"]}`);
  }
  if (typeof value === "number") {
    if (typeof schema["minimum"] === "number" && value < schema["minimum"])
      errors.push(`${path}: below minimum`);
    if (typeof schema["maximum"] === "number" && value > schema["maximum"])
      errors.push(`${path}: above maximum`);
  }
  if (Array.isArray(value) && schema["items"]) {
    value.forEach((v, i) =>
      errors.push(...validate(v, schema["items"] as Schema, `${path}[${i}]`)),
    );
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (schema["properties"] ?? {}) as Record<string, Schema>;
    for (const key of (schema["required"] ?? []) as string[]) {
      if (!Object.hasOwn(obj, key)) errors.push(`${path}: missing ${key}`);
    }
    for (const [key, v] of Object.entries(obj)) {
      if (Object.hasOwn(props, key))
        errors.push(...validate(v, props[key] as Schema, `${path}.${key}`));
      else if (schema["additionalProperties"] === false)
        errors.push(`${path}: undeclared field ${key}`);
      else if (typeof schema["additionalProperties"] === "object") {
        errors.push(...validate(v, schema["additionalProperties"] as Schema, `${path}.${key}`));
      }
    }
  }
  return errors;
}

const context: EventsContext = {
  tool: { name: "guestops", version: "0.1.0" },
  assumeTz: "UTC",
  filters: { since: "2024-06-04T00:00:00.000Z" },
  inputs: [
    { path: "a.log", sha256: "0".repeat(64), format: "hostd", records: 3 },
    { path: "-", sha256: "" },
  ],
  formats: { hostd: 1, unknown: 1 },
  issues: { missing_time: 1 },
  counts: {
    records: 3,
    observations: 2,
    sessionRecords: 1,
    duplicateObservations: 0,
    operations: 2,
    filteredOut: 0,
  },
};

function documentOf(records: CanonicalRecord[]): unknown {
  const r = correlate(records);
  return JSON.parse(formatOperations("json", r.operations, summarise(r), context));
}

describe("docs/schema/operation.schema.json", () => {
  it("accepts documents of every kind of operation", () => {
    const src = source("vc.log");
    const cases: CanonicalRecord[][] = [
      vic3029(),
      [...artefactsHostd(), ...artefactsVmx()],
      kb416771(),
      [
        obs(src, "vc.burst", {
          time: "2024-06-04T22:00:00.000Z",
          vcenter: "vc01",
          user: "CORP\\svc",
          count: 40,
          detail: "compressed",
          eventKey: "9",
        }),
        obs(src, "vc.event", {
          time: "2024-06-04T22:00:01.000Z",
          vcenter: "vc01",
          user: "vpxuser:<no user>",
          api: "DeleteFileInGuest",
          eventKey: "10",
        }),
        sess(src, "login", {
          time: "2024-06-04T21:00:00.000Z",
          vcenter: "vc01",
          user: "CORP\\svc",
          sourceIp: "10.0.0.1",
          userAgent: "govc/0.37",
        }),
      ],
    ];
    for (const records of cases) {
      const problems = validate(documentOf(records), SCHEMA);
      assert.deepEqual(problems, []);
    }
  });

  it("accepts a session-chain attribution with the operations it relies on (related)", () => {
    const src = source("esx01/hostd.log", { hostHint: "esx01" });
    const doc = documentOf([
      obs(src, "hostd.state", {
        time: "2024-06-04T22:00:00.000Z",
        opId: "ee13d46d",
        session: "52806149",
        user: "root",
        vm: { vmx: "/vmfs/volumes/ds1/web-01/web-01.vmx" },
      }),
      obs(src, "hostd.request", {
        time: "2024-06-04T22:00:05.000Z",
        opId: "ee13d483",
        session: "52806149",
        api: "ListProcessesInGuest",
        method: "listProcesses",
      }),
    ]) as { operations: { id: string; attribution: { related?: string[] } }[] };
    const related = doc.operations.flatMap((o) => o.attribution.related ?? []);
    assert.equal(related.length, 1);
    assert.ok(doc.operations.some((o) => o.id === related[0]));
    assert.deepEqual(validate(doc, SCHEMA), []);
  });

  it("rejects an undeclared field (the check can fail)", () => {
    const doc = documentOf(vic3029()) as { operations: Record<string, unknown>[] };
    const [first] = doc.operations;
    assert.ok(first);
    first["surprise"] = 1;
    assert.ok(validate(doc, SCHEMA).some((p) => p.includes("undeclared field surprise")));
  });

  it("each ndjson line is an operation of the schema", () => {
    const r = correlate(vic3029());
    const lines = formatOperations("ndjson", r.operations, summarise(r), context)
      .trim()
      .split("\n");
    for (const line of lines) {
      assert.deepEqual(validate(JSON.parse(line), { $ref: "#/$defs/operation" }), []);
    }
  });
});
