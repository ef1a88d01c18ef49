/**
 * What ESXi says about its own log forwarding, wherever the text arrives (vobd.log, a vobd or
 * vmsyslogd syslog line, a vCenter event's description): a remote log host that became
 * unreachable (`esx.problem.vmsyslogd.remote.failure`, "Remote logging host has become
 * unreachable"), or messages lost (`vmsyslog logger <host> lost N log messages`, vmsyslogd's
 * `Dropping messages due to log stress`).
 *
 * Grammars, with how sure they are:
 * - vCenter `GeneralHostWarningEvent` "Issue detected on <host> in <dc>: vmsyslog logger
 *   <log host> lost <N> log messages" — verbatim (Elastic's vCenter syslog sample).
 * - vobd `[UserLevelCorrelator] <N>us: [vob.user.vmsyslogd.remote.failure] The host "<log host>"
 *   has become unreachable. Remote logging to this host has stopped.` and the same with
 *   `[esx.problem.vmsyslogd.remote.failure]` — inferred (a public detection test line; the event
 *   id and its "Remote logging host has become unreachable" title from the STIGs).
 * - `Dropping messages due to log stress (qsize = N)` — the text of Broadcom KB 442474, its
 *   program and position in the line inferred.
 *
 * So the match is lenient: the event id, or the unreachable/stopped wording, anywhere in the text.
 * Plain substring and bounded regex searches only (a hostile line costs one pass).
 */
import type { Evidence, LoggingKind } from "../../../model/record.js";

export interface LoggingText {
  readonly kind: Exclude<LoggingKind, "vc.event-key">;
  /** The log host that was unreachable or lost messages, as written. */
  readonly target?: string;
  /** Messages lost, when stated. */
  readonly count?: number;
  /** The ESXi host the text names (a vCenter "Issue detected on <host> in <dc>:" event). */
  readonly host?: string;
  readonly evidence: Evidence;
}

export const REMOTE_FAILURE_ID = "vmsyslogd.remote.failure";
const UNREACHABLE = "has become unreachable";
const TITLE = /Remote logging host has become unreachable/i;
const QUOTED_HOST = /The (?:remote )?host "(?<target>[^"]{0,300})"/;
const BARE_HOST =
  /(?:The |remote |log(?:ging)? )?host (?<target>[^\s"]{1,300}) has become unreachable/;
const LOST = /vmsyslog(?:d)? logger (?<target>\S{1,300}) lost (?<n>\d{1,15}) log messages/;
const STRESS = /Dropping messages due to log stress(?: \(qsize = (?<n>\d{1,15})\))?/;
const ISSUE_ON = /Issue detected on (?<host>\S{1,300}) in /;

/** The substrings a line must hold to be one of these (the readers' markers). */
export const LOGGING_MARKERS: readonly string[] = [
  REMOTE_FAILURE_ID,
  UNREACHABLE,
  "log messages",
  "log stress",
];

const hostIn = (text: string): string | undefined => ISSUE_ON.exec(text)?.groups?.["host"];

/**
 * The logging failure a text states, if any. `typeId` is an event type id when the source gives
 * one (a JSON export's `eventTypeId`): `esx.problem.vmsyslogd.remote.failure` settles it.
 */
export function matchLoggingText(text: string, typeId?: string): LoggingText | undefined {
  const host = hostIn(text);
  const withHost = host !== undefined ? { host } : {};
  const lost = LOST.exec(text)?.groups;
  if (lost) {
    return {
      kind: "esx.messages-lost",
      target: lost["target"] ?? "",
      count: Number(lost["n"]),
      ...withHost,
      evidence: "verbatim",
    };
  }
  const byType = typeId?.endsWith(REMOTE_FAILURE_ID) === true;
  if (
    byType ||
    text.includes(REMOTE_FAILURE_ID) ||
    TITLE.test(text) ||
    (text.includes(UNREACHABLE) && /remote logging|log host|syslog/i.test(text))
  ) {
    const target =
      QUOTED_HOST.exec(text)?.groups?.["target"] ?? BARE_HOST.exec(text)?.groups?.["target"];
    return {
      kind: "esx.remote-failure",
      ...(target ? { target } : {}),
      ...withHost,
      evidence: "inferred",
    };
  }
  const stress = STRESS.exec(text);
  if (stress) {
    const n = stress.groups?.["n"];
    return {
      kind: "esx.messages-lost",
      ...(n !== undefined ? { count: Number(n) } : {}),
      ...withHost,
      evidence: "inferred",
    };
  }
  return undefined;
}
