import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mulberry32 } from "../../test/helpers/random.js";
import { globMatch, globStepCount } from "./glob.js";

/** Reference: the glob as a regular expression (test only; the product builds none from input). */
const reference = (pattern: string, text: string): boolean =>
  new RegExp(
    `^${[...pattern].map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("")}$`,
    "i",
  ).test(text);

describe("globMatch", () => {
  it("matches like the glob's regular expression (seeded differential)", () => {
    const random = mulberry32(15);
    const pick = (alphabet: string, n: number): string =>
      Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    for (let i = 0; i < 5000; i++) {
      const pattern = pick("ab*?A.", Math.floor(random() * (i % 10 === 0 ? 80 : 8)));
      const text = pick("abAB.", Math.floor(random() * (i % 10 === 0 ? 120 : 10)));
      assert.equal(globMatch(pattern, text), reference(pattern, text), `${pattern} ~ ${text}`);
    }
    assert.ok(globMatch("DC*", "dc01.corp"));
    assert.ok(!globMatch("dc?", "dc"));
    assert.ok(globMatch("*", ""));
    // a `?` segment longer than one machine word (41 characters)
    const long = `*${"a?".repeat(20)}b*`;
    for (const text of [
      `zz${"ac".repeat(20)}bzz`,
      `${"ac".repeat(19)}bzz`,
      `a${"ac".repeat(20)}b`,
    ]) {
      assert.equal(globMatch(long, text), reference(long, text), text);
    }
    assert.ok(globMatch(long, `zz${"ac".repeat(20)}bzz`));
  });

  it("costs about one pass over the name per segment, whatever the stars", () => {
    const name = "a".repeat(60_000);
    // 100 stars: a backtracking matcher rescans the name from every star
    const patterns = [`${"*a".repeat(100)}*b*`, `*${"a?".repeat(50)}b*`, `${"*a".repeat(100)}*`];
    const before = globStepCount();
    assert.equal(globMatch(patterns[0]!, name), false);
    assert.equal(globMatch(patterns[1]!, name), false);
    assert.equal(globMatch(patterns[2]!, name), true);
    const spent = globStepCount() - before;
    // a pass each; the 101-character `?` segment takes 4 machine words per character
    assert.ok(spent < 8 * name.length, `${spent} comparisons for ${name.length} characters`);
  });
});
