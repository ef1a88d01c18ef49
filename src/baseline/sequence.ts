/**
 * Exfiltration-shaped sequences of one account on one VM (docs/detection.md): discovery
 * (ListFiles / ListProcesses) then a file pulled out (InitiateFileTransferFromGuest), or a file
 * staged in (InitiateFileTransferToGuest), a program run, then a file pulled out, all within the
 * window. The learner counts the days each account and VM shows one; `exfil-sequence` judges them.
 * The tracker keeps, per account and VM, only the last discovery, stage and run within the window.
 */
export const DISCOVERY = new Set(["ListFilesInGuest", "ListProcessesInGuest"]);
export const STAGE = "InitiateFileTransferToGuest";
export const RUN = "StartProgramInGuest";
export const COLLECT = "InitiateFileTransferFromGuest";

export interface SequenceStep<T> {
  readonly item: T;
  readonly t: number;
}

export interface SequenceMatch<T> {
  readonly shape: "discovery-collect" | "stage-run-collect";
  /** The steps, in time order, the collect last. */
  readonly steps: readonly SequenceStep<T>[];
}

interface PairState<T> {
  discovery?: SequenceStep<T> | undefined;
  stage?: SequenceStep<T> | undefined;
  run?: SequenceStep<T> | undefined;
  last: number;
}

export class SequenceTracker<T> {
  private readonly pairs = new Map<string, PairState<T>>();

  constructor(private readonly windowMs: number) {}

  /** Feeds one operation (time order); returns the sequence it completes, if any. */
  add(key: string, api: string, t: number, item: T): SequenceMatch<T> | undefined {
    let s = this.pairs.get(key);
    if (!s) {
      s = { last: t };
      this.pairs.set(key, s);
    }
    s.last = t;
    const fresh = (step: SequenceStep<T> | undefined): step is SequenceStep<T> =>
      step !== undefined && t - step.t <= this.windowMs;
    const step = { item, t };
    if (DISCOVERY.has(api)) {
      s.discovery = step;
    } else if (api === STAGE) {
      s.stage = step;
      s.run = undefined;
    } else if (api === RUN) {
      if (fresh(s.stage)) s.run = step;
    } else if (api === COLLECT) {
      if (fresh(s.stage) && fresh(s.run)) {
        return { shape: "stage-run-collect", steps: [s.stage, s.run, step] };
      }
      if (fresh(s.discovery)) return { shape: "discovery-collect", steps: [s.discovery, step] };
    }
    return undefined;
  }

  /** Forgets steps older than the window before `now`, and pairs left with none. */
  forget(now: number): void {
    const stale = (step: SequenceStep<T> | undefined): boolean =>
      step !== undefined && now - step.t > this.windowMs;
    for (const [key, s] of this.pairs) {
      if (stale(s.discovery)) s.discovery = undefined;
      if (stale(s.stage)) s.stage = undefined;
      if (stale(s.run)) s.run = undefined;
      if (!s.discovery && !s.stage && !s.run) this.pairs.delete(key);
    }
  }

  /** Earliest step time still held (undefined: none). */
  earliest(): number | undefined {
    let min: number | undefined;
    for (const s of this.pairs.values()) {
      for (const step of [s.discovery, s.stage, s.run]) {
        if (step && (min === undefined || step.t < min)) min = step.t;
      }
    }
    return min;
  }
}

export const shapeText = (shape: SequenceMatch<unknown>["shape"]): string =>
  shape === "discovery-collect"
    ? "discovery then a file pulled out of the guest"
    : "a file staged in, a program run, then a file pulled out";
