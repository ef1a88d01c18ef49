/** `policy suggest`: log-derived names cannot break out of their YAML scalar or comment. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { op } from "../../test/helpers/operations.js";
import { checkPolicyText } from "../policy/load.js";
import { learnBaseline } from "./learn.js";
import { suggestPolicy } from "./suggest.js";

describe("policy suggest", () => {
  it("quotes hostile account and VM names; the draft validates and names exactly them", () => {
    const evil = 'CORP\\ev"il #  - name: root';
    const vm = 'db01"] tiers: [x] #';
    const control = "CORP\\x\n  - name: root";
    const ops = Array.from({ length: 10 }, (_, d) =>
      op({
        principal: d % 2 ? evil : control,
        vm,
        sourceIp: "10.0.0.7\n#",
        time: new Date(Date.parse("2026-02-02T10:00:00Z") + (d >> 1) * 86_400_000).toISOString(),
      }),
    );
    const yaml = suggestPolicy(learnBaseline(ops, { zone: "UTC" }), { store: "s\n.db" });
    const result = checkPolicyText(yaml, { name: "draft.yaml" });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.equal(result.policy.accounts.length, 1);
    assert.equal(result.policy.accounts[0]?.pattern, 'CORP\\ev"il #  - name: root');
    assert.equal(result.policy.accounts[0]?.vms?.length, 1);
    assert.match(yaml, /vms: \["db01\\"\] tiers: \[x\] #"\]/);
    assert.match(
      yaml,
      /# left out: an account whose name holds control characters \(CORP\\x\? {2}- name: root\), 5 operations/,
    );
    assert.match(yaml, /# sources: no client address was logged|sources: \[/);
    assert.doesNotMatch(yaml, /^tiers:/m);
    assert.doesNotMatch(yaml, /^ {2}- name: root/m);
    // the address that is no address is left out of sources
    assert.doesNotMatch(yaml, /sources: \["10\.0\.0\.7/);
  });
});
