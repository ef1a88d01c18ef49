import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parsePolicy, checkPolicyText } from "../policy/load.js";
import { renderOptionBlocks } from "./options-doc.js";
import { BUILTIN_RULES } from "./registry.js";

const SITE = "sites:\n  - { name: paris, zone: Europe/Paris, default: true }\n";

describe("rule options from the registry", () => {
  it("docs/rules.md holds the current option table of every rule (npm run docs)", () => {
    const text = readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8");
    const rendered = renderOptionBlocks(text, BUILTIN_RULES);
    assert.deepEqual(rendered.missing, []);
    assert.deepEqual(rendered.unknown, []);
    assert.equal(rendered.text, text, "docs/rules.md is stale: run npm run docs");
  });

  it("the policy's rules section accepts each rule's own options and applies their defaults", () => {
    const p = parsePolicy(`${SITE}rules:\n  auth-failure-burst: { threshold: 7 }\n`, {
      name: "p.yaml",
    });
    assert.deepEqual(p.rules.get("auth-failure-burst")?.options, { threshold: 7, window: "10m" });
  });

  it("a bad option value or an option another rule owns is a policy error with its line", () => {
    const bad = checkPolicyText(`${SITE}rules:\n  auth-failure-burst:\n    threshold: 1\n`, {
      name: "p.yaml",
    });
    assert.equal(bad.ok, false);
    assert.match(
      bad.problems.map((x) => `${x.line}: ${x.message}`).join("\n"),
      /^5: .*at least 2/m,
    );
    const foreign = checkPolicyText(`${SITE}rules:\n  outside-hours: { threshold: 3 }\n`, {
      name: "p.yaml",
    });
    assert.equal(foreign.ok, false);
  });
});
