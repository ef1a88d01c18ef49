/**
 * @module Reader for ESXi's own word on its log forwarding (format `vobd`): vobd.log lines
 * (`2021-01-21T10:33:04.420Z: [UserLevelCorrelator] 1503245180us: [esx.problem.vmsyslogd.remote.failure] …`)
 * and the lines of programs `vobd` and `vmsyslogd` in a syslog stream, which the receiver-file
 * router hands over with their envelope. Each remote-logging failure or loss of messages becomes a
 * `logging` record (see `messages.ts` for the grammars and how sure they are); every other line of
 * those programs is skipped as `other-message`.
 */
import type { LoggingRecord } from "../../../model/record.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import { parseIsoTime } from "../../time.js";
import { defineReader, type Envelope, type LineParser, type ReaderContext } from "../../types.js";
import { shareOfLines } from "../sniff.js";
import { LOGGING_MARKERS, matchLoggingText } from "./messages.js";

export { LOGGING_MARKERS, matchLoggingText, type LoggingText } from "./messages.js";

/** A local vobd.log line: `TIME: [Correlator] Nus: [id] text`. */
const LOCAL =
  /^(?<time>\d{4}-\d\d-\d\dT[\d:.]{8,15}(?:Z|[+-]\d\d:?\d\d)?): (?<body>\[[A-Za-z]{1,64}\] .*)$/s;
const VOB_BODY = /^\[[A-Za-z]{1,64}\] \d{1,20}us: \[/;

function openVobd(ctx: ReaderContext): LineParser {
  return {
    line(text: string, lineNo: number, envelope?: Envelope): void {
      const raw = envelope?.line ?? text;
      let body = text;
      let time = envelope?.time;
      let timeAssumed = envelope?.timeAssumed ?? false;
      let env = envelope;
      if (env === undefined) {
        const local = LOCAL.exec(text)?.groups;
        if (local) {
          body = local["body"] ?? "";
          const t = parseIsoTime(local["time"] ?? "", ctx.options.assumeTz);
          if (t) {
            time = t.time;
            timeAssumed = t.assumed;
          }
        } else {
          env = parseEnvelope(text, ctx.options);
          if (env) {
            body = env.body;
            time = env.time;
            timeAssumed = env.timeAssumed ?? false;
          }
        }
      }
      const found = matchLoggingText(body);
      if (!found) {
        ctx.skip(lineNo, "other-message");
        return;
      }
      if (time === undefined) {
        ctx.issue("missing_time", "vobd/vmsyslogd line without a usable time", lineNo);
      }
      const host = found.host ?? env?.host ?? ctx.source.hostHint;
      const record: LoggingRecord = {
        type: "logging",
        kind: found.kind,
        time,
        ...(timeAssumed ? { timeAssumed: true } : {}),
        ...(host !== undefined ? { host } : {}),
        ...(found.target !== undefined ? { target: found.target } : {}),
        ...(found.count !== undefined ? { count: found.count } : {}),
        process: env?.program ?? "vobd",
        evidence: found.evidence,
        prov: { source: ctx.source, line: lineNo, lineCount: 1, raw },
      };
      ctx.emit(record);
    },
    end(): void {},
  };
}

export const vobdReader = defineReader({
  name: "vobd",
  title: "ESXi vobd.log and vobd/vmsyslogd syslog lines (remote logging failures, lost messages)",
  shape: "lines",
  markers: LOGGING_MARKERS,
  sniff: (head) => {
    const f = shareOfLines(head, (l) => {
      const body = LOCAL.exec(l)?.groups?.["body"];
      return body !== undefined && VOB_BODY.test(body);
    });
    return f >= 0.5 ? 0.8 : 0.6 * f;
  },
  open: openVobd,
});
