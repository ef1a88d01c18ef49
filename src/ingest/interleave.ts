/**
 * Reading many inputs side by side in stream time: the batch form of a live feed.
 *
 * Each input (a lane) reads one chunk per turn, and the turn always goes to the lane furthest
 * behind in stream time (the lowest latest-record time, then the lowest index), so every lane
 * advances through the same hours together, as their lines would arrive from a live feed. One
 * lane runs at a time and the choice depends only on what was read, never on I/O timing: the same
 * inputs give the same record order, run after run.
 *
 * The watermark is the earliest time a record still to come may carry: the lowest latest-record
 * time over the lanes not done. A lane whose order is not known (an archive's members, a JSON
 * export, standard input) holds it until the lane is done, and keeps the turn until then. Each
 * time the watermark moves forward it is reported, so that attribution can release what no
 * record to come can join any more: memory is then bounded by the open time window, not by the
 * size of the inputs. The report may return a promise (the released operations being written
 * out): no lane reads on until it settles, so a slow consumer slows reading instead of growing
 * memory, and its failure fails the read.
 */

interface Lane {
  readonly index: number;
  /** Latest record time read (epoch ms); -Infinity before the first. */
  latest: number;
  /** Order unknown: holds the watermark and the turn until done. */
  held: boolean;
  done: boolean;
  /** Resolves the lane's waiting `turn()`. */
  wake: (() => void) | undefined;
}

export class TimeTurns {
  readonly #lanes: Lane[] = [];
  #holder: Lane | undefined;
  #watermark = Number.NEGATIVE_INFINITY;
  /** What the last watermark reports returned, still to settle before any lane reads on. */
  #pending: Promise<void> | undefined;

  constructor(
    count: number,
    private readonly onWatermark: (ms: number) => void | Promise<void>,
  ) {
    for (let index = 0; index < count; index++) {
      this.#lanes.push({
        index,
        latest: Number.NEGATIVE_INFINITY,
        held: false,
        done: false,
        wake: undefined,
      });
    }
  }

  /** The watermark reported last (-Infinity before the first). */
  get watermark(): number {
    return this.#watermark;
  }

  /** Resolves when lane `index` may read its next chunk. */
  turn(index: number): Promise<void> | undefined {
    const pending = this.#pending;
    if (pending) {
      this.#pending = undefined;
      return pending.then(() => this.turn(index));
    }
    const lane = this.#lane(index);
    if (this.#holder !== undefined && this.#holder !== lane) return this.#wait(lane);
    const next = this.#pick();
    this.#advance();
    if (next === lane) {
      this.#holder = lane;
      return undefined;
    }
    this.#give(next);
    return this.#wait(lane);
  }

  /** A record of the lane holding the turn, at `time` (epoch ms). */
  note(time: number): void {
    const lane = this.#holder;
    if (lane !== undefined && time > lane.latest) lane.latest = time;
  }

  /** The lane holding the turn reads an input whose order is not known (see the module comment). */
  hold(): void {
    if (this.#holder) this.#holder.held = true;
  }

  /** Settles when what the watermark reports returned has (call once every lane is done). */
  async settle(): Promise<void> {
    while (this.#pending) {
      const pending = this.#pending;
      this.#pending = undefined;
      await pending;
    }
  }

  /** Lane `index` is done (read to the end, or failed). */
  done(index: number): void {
    const lane = this.#lane(index);
    lane.done = true;
    if (this.#holder === lane || this.#holder === undefined) this.#give(this.#pick());
    this.#advance();
  }

  #lane(index: number): Lane {
    const lane = this.#lanes[index];
    if (!lane) throw new RangeError(`no lane ${index}`);
    return lane;
  }

  #wait(lane: Lane): Promise<void> {
    return new Promise((resolve) => {
      lane.wake = resolve;
    });
  }

  /** Hands the turn to `next` (waking it when it waits; it may not have asked yet). */
  #give(next: Lane | undefined): void {
    this.#holder = next;
    const wake = next?.wake;
    if (next && wake) {
      next.wake = undefined;
      wake();
    }
  }

  /** The lane to run: a held lane first, else the one furthest behind. */
  #pick(): Lane | undefined {
    let best: Lane | undefined;
    for (const lane of this.#lanes) {
      if (lane.done) continue;
      if (lane.held) return lane;
      if (best === undefined || lane.latest < best.latest) best = lane;
    }
    return best;
  }

  #advance(): void {
    let low = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes) {
      if (lane.done) continue;
      const at = lane.held ? Number.NEGATIVE_INFINITY : lane.latest;
      if (at < low) low = at;
    }
    if (low > this.#watermark && Number.isFinite(low)) {
      this.#watermark = low;
      const reported: unknown = this.onWatermark(low);
      // only a promise holds the lanes (a JavaScript caller's hook may return anything)
      if (reported instanceof Promise) {
        const settled = reported as Promise<void>;
        const before = this.#pending;
        this.#pending = before ? before.then(() => settled) : settled;
        this.#pending.catch(() => undefined); // awaited by `turn` or `settle`, never lost
      }
    }
  }
}
