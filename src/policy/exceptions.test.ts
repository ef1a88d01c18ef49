/**
 * The policy's `exceptions:` section: every problem names its line and field, and a loaded
 * exception matches with the same matchers as maintenance windows, until its expiry.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normaliseAccount } from "../attribute/identity.js";
import { exceptionCovering } from "./evaluate.js";
import { checkPolicyText, formatProblem, parsePolicy, type PolicyProblem } from "./load.js";

const SITE = `sites:
  - name: paris
    zone: Europe/Paris
tiers:
  - { name: critical, vms: ["dc*"] }
`;

const problemsOf = (text: string): string[] => {
  const r = checkPolicyText(text, { name: "policy.yaml" });
  assert.equal(r.ok, false, "the policy should be invalid");
  return r.problems.map((p: PolicyProblem) => formatProblem("policy.yaml", p));
};

describe("exceptions: loading", () => {
  it("needs an owner, a ticket and an expiry, each named with its line", () => {
    const problems = problemsOf(`${SITE}exceptions:
  - rules: [outside-hours]
    accounts: [CORP\\alice]
`);
    assert.deepEqual(problems, [
      "policy.yaml:7: exceptions[0].owner: expected owner (text)",
      "policy.yaml:7: exceptions[0].ticket: expected ticket (text)",
      "policy.yaml:7: exceptions[0].expires: expected the expiry: a date (2027-03-31) or a date-time (2027-03-31T18:00, …Z)",
    ]);
  });

  it("rejects an unknown rule id, a bad expiry, an unknown tier, an unknown key and a scope-less exception", () => {
    const problems = problemsOf(`${SITE}exceptions:
  - rules: [outside-hour]
    accounts: [CORP\\alice]
    owner: alice
    ticket: SEC-1
    expires: next tuesday
  - rules: any
    tiers: [gold]
    owner: bob
    ticket: SEC-2
    expires: 2027-01-01
    ownr: x
  - rules: any
    owner: bob
    ticket: SEC-3
    expires: 2027-01-01
`);
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.match(
      problems[0] ?? "",
      /^policy\.yaml:7: exceptions\[0\]\.rules\[0\]: unknown rule id/,
    );
    assert.match(
      problems[1] ?? "",
      /^policy\.yaml:11: exceptions\[0\]\.expires: expected the expiry/,
    );
    assert.match(
      problems[2] ?? "",
      /^policy\.yaml:17: exceptions\[1\]\.ownr: unknown key "ownr" \(did you mean owner\?\)/,
    );
    assert.match(
      problems[3] ?? "",
      /^policy\.yaml:18: exceptions\[2\]: an exception needs a scope/,
    );
    // a tier that does not exist is caught once the schema is satisfied
    const tier = problemsOf(`${SITE}exceptions:
  - { rules: any, tiers: [gold], owner: bob, ticket: SEC-2, expires: 2027-01-01 }
`);
    assert.match(
      tier[0] ?? "",
      /^policy\.yaml:7: exceptions\[0\]\.tiers\[0\]: unknown tier "gold"/,
    );
  });

  it("reads a date as the whole of that day in the default site's zone, a Z time exactly", () => {
    const policy = parsePolicy(
      `${SITE}exceptions:
  - { rules: [outside-hours, sensitive-vm], accounts: [CORP\\alice], vms: [app*], tiers: [critical], owner: alice, ticket: SEC-1, expires: 2027-03-31, reason: quarterly patching }
  - { rules: any, hosts: [esx01*], methods: [execute], owner: bob, ticket: SEC-2, expires: "2027-01-01T12:00Z" }
`,
      { name: "policy.yaml" },
    );
    const [a, b] = policy.exceptions;
    assert.ok(a && b);
    assert.equal(a.id, "exceptions[0]");
    assert.equal(new Date(a.expiresMs).toISOString(), "2027-03-31T22:00:00.000Z"); // midnight CEST
    assert.deepEqual(a.rules, ["outside-hours", "sensitive-vm"]);
    assert.deepEqual(a.vms, [
      { kind: "glob", pattern: "app*" },
      { kind: "tier", tier: "critical" },
    ]);
    assert.equal(a.reason, "quarterly patching");
    assert.equal(a.source, "policy");
    assert.equal(b.rules, undefined);
    assert.equal(new Date(b.expiresMs).toISOString(), "2027-01-01T12:00:00.000Z");
  });
});

describe("exceptions: matching", () => {
  const policy = parsePolicy(
    `${SITE}domains:
  - [CORP, corp.example]
exceptions:
  - { rules: [outside-hours], accounts: [CORP\\alice], tiers: [critical], owner: alice, ticket: SEC-1, expires: "2027-01-01T00:00Z" }
  - { rules: any, hosts: [esx01*], methods: [execute], owner: bob, ticket: SEC-2, expires: "2027-01-01T00:00Z" }
`,
    { name: "policy.yaml" },
  );
  const alice = normaliseAccount("alice@corp.example");
  const base: {
    rule: string;
    instant: string;
    principal: ReturnType<typeof normaliseAccount> | undefined;
    vm: string;
    host: string;
    api?: string;
  } = {
    rule: "outside-hours",
    instant: "2026-06-01T02:00:00Z",
    principal: alice,
    vm: "dc01",
    host: "esx09.corp.example",
    api: "ListProcessesInGuest",
  };
  const ticket = (facts: Partial<typeof base>) =>
    exceptionCovering(policy, policy.exceptions, { ...base, ...facts })?.ticket;

  it("covers its rule, account (through domain aliases) and tier before it expires", () => {
    assert.equal(ticket({}), "SEC-1");
    assert.equal(ticket({ rule: "sensitive-vm" }), undefined);
    assert.equal(ticket({ principal: normaliseAccount("CORP\\bob") }), undefined);
    assert.equal(ticket({ principal: undefined }), undefined);
    assert.equal(ticket({ vm: "app01" }), undefined);
    assert.equal(ticket({ instant: "2027-01-01T00:00:00Z" }), undefined, "expired at its instant");
    assert.equal(ticket({ instant: "2026-12-31T23:59:59Z" }), "SEC-1");
  });

  it("judges host and method, and never an operation without a time", () => {
    assert.equal(
      ticket({
        rule: "unexpected-account",
        host: "esx01.corp.example",
        api: "StartProgramInGuest",
      }),
      "SEC-2",
    );
    assert.equal(ticket({ rule: "unexpected-account", host: "esx01.corp.example" }), undefined);
    assert.equal(
      exceptionCovering(policy, policy.exceptions, { ...base, instant: undefined }),
      undefined,
    );
  });
});

describe("exceptions: policy check", () => {
  it("lists each exception with its owner, expiry, scope and reason, and says when it has expired", async () => {
    const { renderPolicy } = await import("../report/policy.js");
    const policy = parsePolicy(
      `${SITE}exceptions:
  - { rules: [outside-hours], accounts: [CORP\\alice], vms: [app*], owner: dana, ticket: CHG-1, expires: 2027-01-01, reason: patching }
  - { rules: any, hosts: [esx01*], owner: bob, ticket: CHG-2, expires: "2026-01-01T00:00Z" }
`,
      { name: "policy.yaml" },
    );
    const text = renderPolicy(policy, Date.parse("2026-06-01T00:00:00Z"), 1);
    assert.match(text, /^ {2}CHG-1: owner dana, until 2027-01-01T23:00Z$/m);
    assert.match(
      text,
      /^ {4}covers: rules outside-hours; accounts CORP\\alice; vms app\*; hosts any; methods any$/m,
    );
    assert.match(text, /^ {4}reason: patching$/m);
    assert.match(text, /^ {2}CHG-2: owner bob, until 2026-01-01T00:00Z \(expired\)$/m);
  });
});
