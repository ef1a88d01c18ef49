import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineLedger, MAX_OPEN } from "./ledger.js";

describe("LineLedger", () => {
  it("gives up at the end on the lines nothing accounted for", () => {
    const lost: number[] = [];
    const ledger = new LineLedger((l) => lost.push(l));
    for (const l of [1, 2, 3, 5, 8]) ledger.handed(l);
    ledger.settle(2);
    ledger.settle(5);
    ledger.end();
    assert.deepEqual(lost, [1, 3, 8]);
  });

  it("settles a multi-line record's lines past lines already accounted for", () => {
    const lost: number[] = [];
    const ledger = new LineLedger((l) => lost.push(l));
    // a dump on lines 1, 3, 5 interleaved with lines 2 and 4 of another thread (already skipped)
    for (let l = 1; l <= 6; l++) ledger.handed(l);
    ledger.settle(2);
    ledger.settle(4);
    ledger.settle(1, 3);
    ledger.end();
    assert.deepEqual(lost, [6]);
  });

  it("keeps memory bounded: a line open for MAX_OPEN later lines is given up on", () => {
    const lost: number[] = [];
    const ledger = new LineLedger((l) => lost.push(l));
    ledger.handed(1); // never accounted for
    for (let l = 2; l <= MAX_OPEN + 10; l++) {
      ledger.handed(l);
      ledger.settle(l);
    }
    assert.deepEqual(lost, [1], "given up on before the end");
    ledger.end();
    assert.deepEqual(lost, [1]);
  });

  it("counts a line handed over twice (split at a NUL run) once", () => {
    const lost: number[] = [];
    const ledger = new LineLedger((l) => lost.push(l));
    ledger.handed(7);
    ledger.handed(7);
    ledger.end();
    assert.deepEqual(lost, [7]);
  });
});
