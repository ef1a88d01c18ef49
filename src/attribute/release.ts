/**
 * Releasing a correlator's operations as stream time moves on: the one mechanism the batch
 * pipeline (watermark of the inputs read side by side) and the live receiver (wall clock less its
 * delay) share. Each step the correlator releases what no record to come can join any more; a
 * reorder buffer hands the operations on in time order, once no operation still held can start
 * before them.
 */
import { operationOrder } from "./build.js";
import type { Correlator, CorrelationResult } from "./correlate.js";
import type { Operation } from "../model/operation.js";

/** What one release step gives: the operations ready, in time order, and the correlator's part. */
export interface ReleaseStep {
  readonly ready: Operation[];
  readonly part: CorrelationResult;
  /**
   * Every operation starting before this time (epoch ms) has now been handed on, by this step or
   * an earlier one; those still held start at or after it (+Infinity after `finish`).
   */
  readonly bound: number;
}

export class Release {
  readonly #order = new ReleaseOrder();
  #releasedTo = Number.NEGATIVE_INFINITY;

  /**
   * `stepMs`: stream time between two releases (each joins what is pending again: a shorter step
   * costs more joins and holds less). `leadMs`: added to the time handed to `flushBefore`, which
   * keeps an operation until its records are the longest join window older than that time; live
   * use releases earlier by handing it a later time.
   */
  constructor(
    private readonly correlator: Correlator,
    private readonly options: { readonly stepMs: number; readonly leadMs?: number },
  ) {}

  /** The watermark of the last release (-Infinity before the first). */
  get releasedTo(): number {
    return this.#releasedTo;
  }

  /** Releases at `watermark` (epoch ms) when a step is due; undefined when not. */
  at(watermark: number): ReleaseStep | undefined {
    if (watermark - this.#releasedTo < this.options.stepMs) return undefined;
    const part = this.correlator.flushBefore(watermark + (this.options.leadMs ?? 0));
    this.#order.add(part.operations);
    this.#releasedTo = watermark;
    const bound = Math.min(watermark, this.correlator.pendingSince() ?? watermark);
    return { ready: this.#order.before(bound), part, bound };
  }

  /** Everything still held: the correlator's last join and every operation buffered. */
  finish(): ReleaseStep {
    const part = this.correlator.finish();
    this.#order.add(part.operations);
    return {
      ready: this.#order.before(Number.POSITIVE_INFINITY),
      part,
      bound: Number.POSITIVE_INFINITY,
    };
  }
}

/**
 * Puts released operations back in time order: an operation is handed on once no operation
 * still to be released can start before it (`before(bound)`), untimed ones last.
 */
class ReleaseOrder {
  #held: Operation[] = [];

  add(operations: readonly Operation[]): void {
    for (const op of operations) this.#held.push(op);
  }

  /** The held operations that start before `bound` (epoch ms), in operation order. */
  before(bound: number): Operation[] {
    if (this.#held.length === 0) return [];
    if (bound === Number.POSITIVE_INFINITY) {
      const all = this.#held.sort(operationOrder);
      this.#held = [];
      return all;
    }
    const ready: Operation[] = [];
    const kept: Operation[] = [];
    for (const op of this.#held) {
      const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
      (t < bound ? ready : kept).push(op);
    }
    this.#held = kept;
    return ready.sort(operationOrder);
  }
}
