import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TimeTurns } from "./interleave.js";

/** Runs lanes of record times through the turns; each chunk is one record. */
async function run(
  lanes: readonly (readonly number[])[],
  options: {
    readonly held?: ReadonlySet<number>;
    readonly onWatermark?: (ms: number) => void | Promise<void>;
    /** Random delays inside each lane's reads (I/O timing must not change the order). */
    readonly jitter?: () => number;
  } = {},
): Promise<{ order: string[]; watermarks: number[] }> {
  const order: string[] = [];
  const watermarks: number[] = [];
  const turns = new TimeTurns(lanes.length, (ms) => {
    watermarks.push(ms);
    return options.onWatermark?.(ms);
  });
  await Promise.all(
    lanes.map(async (times, index) => {
      for (const [i, t] of times.entries()) {
        await turns.turn(index);
        if (i === 0 && options.held?.has(index)) turns.hold();
        const delay = options.jitter?.() ?? 0;
        if (delay) await new Promise((r) => setTimeout(r, delay));
        order.push(`${index}:${t}`);
        turns.note(t);
      }
      turns.done(index);
    }),
  );
  await turns.settle();
  return { order, watermarks };
}

describe("reading inputs side by side in stream time", () => {
  it("gives the turn to the lane furthest behind, the same order whatever the I/O timing", async () => {
    const lanes = [
      [1, 5, 9, 13],
      [2, 3, 4, 20],
      [10, 11, 12],
    ];
    const first = await run(lanes);
    assert.deepEqual(first.order, [
      "0:1",
      "1:2",
      "2:10",
      "0:5",
      "1:3",
      "1:4",
      "1:20",
      "0:9",
      "0:13",
      "2:11",
      "2:12",
    ]);
    let seed = 7;
    const jitter = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 3;
    };
    for (let i = 0; i < 3; i++) assert.deepEqual((await run(lanes, { jitter })).order, first.order);
  });

  it("reports a watermark that only moves forward, the lowest latest time of the lanes not done", async () => {
    const { watermarks } = await run([
      [1, 5, 9],
      [2, 3, 30],
    ]);
    assert.ok(watermarks.length > 0);
    for (let i = 1; i < watermarks.length; i++) {
      assert.ok((watermarks[i] as number) > (watermarks[i - 1] as number), watermarks.join(","));
    }
    // lane 1 reads 30 while lane 0 is at 5: the watermark never passes lane 0's latest time
    assert.ok(!watermarks.some((w) => w > 9), watermarks.join(","));
  });

  it("lets a lane of unknown order keep the turn and hold the watermark until it is done", async () => {
    const { order, watermarks } = await run(
      [
        [100, 1, 50],
        [2, 3, 4],
      ],
      { held: new Set([0]) },
    );
    // the held lane starts (its first time is lower than none: lane 0 has index 0) and runs whole
    assert.deepEqual(order.slice(0, 3), ["0:100", "0:1", "0:50"]);
    // no watermark while it held: the first one comes after it is done, from lane 1
    assert.ok(
      watermarks.every((w) => w <= 4),
      watermarks.join(","),
    );
  });

  it("waits for what a watermark report returns before any lane reads on (backpressure)", async () => {
    const events: string[] = [];
    let resolveSlow: () => void = () => undefined;
    const slow = new Promise<void>((r) => {
      resolveSlow = r;
    });
    let reports = 0;
    const done = run(
      [
        [1, 2, 3, 4],
        [1, 2, 3, 4],
      ],
      {
        onWatermark: (ms) => {
          reports++;
          events.push(`w${ms}`);
          if (reports === 1) return slow.then(() => void events.push("released"));
          return undefined;
        },
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    const before = events.length;
    assert.equal(events[0], "w1");
    assert.equal(
      before,
      1,
      `nothing read on while the first report is pending: ${events.join(",")}`,
    );
    resolveSlow();
    await done;
    assert.equal(events[1], "released");
  });

  it("takes a report that returns something other than a promise as done", async () => {
    const reported: number[] = [];
    const { order } = await run(
      [
        [1, 2],
        [1, 2],
      ],
      // Array.push returns the new length: a number, not a promise
      { onWatermark: (ms) => reported.push(ms) as unknown as void },
    );
    assert.equal(order.length, 4);
    assert.ok(reported.length > 0);
  });

  it("fails the read when a watermark report fails", async () => {
    await assert.rejects(
      run(
        [
          [1, 2, 3],
          [1, 2, 3],
        ],
        { onWatermark: () => Promise.reject(new Error("sink closed")) },
      ),
      /sink closed/,
    );
  });
});
