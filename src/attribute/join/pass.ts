/**
 * The join pass contract: one small interface every pass of the correlator implements, the
 * context passes share, and the time windows of the joins.
 */
import type { Observation } from "../../model/record.js";
import type { Frag, Ms } from "../fragments.js";
import type { SessionIndex } from "../sessions.js";

/** Time windows of the joins, in milliseconds (docs/attribution.md explains each). */
export interface JoinWindows {
  /** A hostd event may be stamped this much before the call's start (clock granularity). */
  readonly eventBeforeStart: Ms;
  /** A hostd event follows the call's completion (vmware.log response) by at most this. */
  readonly eventAfterCompletion: Ms;
  /** Without a completion time, a hostd event follows the start by at most this. */
  readonly eventAfterStart: Ms;
  /** InitiateFileTransferToGuest: hostd logs the event when the upload ends, up to this later. */
  readonly uploadDuration: Ms;
  /** `Guest File Path is …` follows its transfer's event by at most this. */
  readonly filePathAfterEvent: Ms;
  /** A Solo.Vmomi argument or fault dump follows the call's start by at most this. */
  readonly dumpAfterStart: Ms;
  /** An audit `api.call` record lies this close to the call. */
  readonly audit: Ms;
  /** vCenter and host clocks and event delivery: a vCenter event lies this close to the call. */
  readonly vcenterSkew: Ms;
  /** A vpxd LRO and the host-side call of its opID family lie this close. */
  readonly lroToHost: Ms;
  /** vCenter creates a guest-operation event at most this long after the call returned. */
  readonly eventDelivery: Ms;
  /** Records of one opID farther apart than this are different calls. */
  readonly sameOpId: Ms;
  /** A session without a logout may still be open this long after it was last seen. */
  readonly sessionHorizon: Ms;
  /**
   * Session chain: an operation takes the principal of the exact operations of its session
   * (vCenter session key, hostd sid) that lie this close to it. In live use, an operation that
   * could still be reached this way waits this long before it is released.
   */
  readonly sessionChain: Ms;
  /** Two copies of one record (same event read twice) lie this close. */
  readonly duplicate: Ms;
}

export const DEFAULT_WINDOWS: JoinWindows = {
  eventBeforeStart: 500,
  eventAfterCompletion: 2_000,
  eventAfterStart: 10_000,
  uploadDuration: 3_600_000,
  filePathAfterEvent: 60_000,
  dumpAfterStart: 5_000,
  audit: 2_000,
  vcenterSkew: 10_000,
  lroToHost: 60_000,
  eventDelivery: 5_000,
  sameOpId: 3_600_000,
  sessionHorizon: 48 * 3_600_000,
  sessionChain: 3_600_000,
  duplicate: 1_000,
};

/** An observation that could not be tied to exactly one operation. */
export interface UnattachedObservation {
  readonly observation: Observation;
  readonly reason: string;
}

/** What every join pass is handed: the windows, the session index and the sinks it may fill. */
export interface PassContext {
  readonly windows: JoinWindows;
  readonly sessions: SessionIndex;
  /** Evidence no single operation takes (a pass only appends to it). */
  readonly unattached: UnattachedObservation[];
  /** Copies of one record folded into the first (counted by the dedupe step). */
  duplicates: number;
}

/**
 * One step of the join: takes the fragments left by the previous pass and returns those left
 * after it (merged fragments gone, survivors possibly grown). The correlator runs them in the
 * order of its explicit list.
 */
export interface JoinPass {
  readonly name: string;
  run(frags: Frag[], ctx: PassContext): Frag[];
}

/** A fresh context for one run of the passes. */
export function passContext(windows: JoinWindows, sessions: SessionIndex): PassContext {
  return { windows, sessions, unattached: [], duplicates: 0 };
}
