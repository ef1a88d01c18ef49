/**
 * @module Reader for the vCenter event syslog stream (telemetry.md §5.2):
 * `Event [key] [i-n] [created] [type] [severity] [user] [target] [chainId] [description]`, usually
 * after an RFC 5424 header whose host is the vCenter. Events longer than vCenter's part size come
 * as parts `[1-2]`, `[2-2]` (the last `]` may be missing); parts are joined by event key, and parts
 * whose siblings never arrive are reported as `orphan_part`.
 *
 * For `EventEx` the type column prints `vim.event.EventEx`, not the event type id, so guest
 * operations are recognised by their description text (see `events.ts`).
 */
import type { Provenance } from "../../../model/record.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import { parseIsoTime } from "../../time.js";
import { defineReader, type Envelope, type LineParser, type ReaderContext } from "../../types.js";
import { excerpt } from "../excerpt.js";
import { shareOfLines } from "../sniff.js";
import { interpretEvent, type VcEvent } from "./events.js";

export {
  interpretEvent,
  matchSessionText,
  type EventContext,
  type SessionText,
  type VcEvent,
} from "./events.js";

const HEAD = /Event \[(?<key>\d+)\] \[(?<part>\d+)-(?<parts>\d+)\]\s?/;
/** The columns vCenter writes itself (a time, a type name, a severity word): no `]` in them. */
const FIXED_HEAD = /^\[(?<created>[^\]]*)\] \[(?<type>[^\]]*)\] \[(?<sev>[^\]]*)\] \[/;
const SEP = "] [";
/** After a `] [`: the chain id column and the `] [` that opens the description. */
const CHAIN = /(\d*)\] \[/y;

interface Columns {
  readonly created: string;
  readonly type: string;
  /** Absent when the user column could not be told from the target column (see `columnsOf`). */
  readonly user: string | undefined;
  readonly chain: string;
  /** The description without the closing `]` (absent when the line was cut). */
  readonly desc: string;
}

/**
 * The columns after `[i-n] `: `[created] [type] [severity] [user] [target] [chainId] [desc`.
 *
 * User and target are free text (an LDAP account may hold `]`, a VM name an OSC sequence), so no
 * character in them ends a column: the three fixed columns are read from the front, then the
 * chain id (digits, preferably the event's own key) anchors the end of the target, and the user
 * is what lies before the one `] [` left between them. When that `] [` is not unique the user
 * cannot be told from the target: it is left out (`user: undefined`) and the caller says so.
 * The description is cut by hand (a lazy regex group before `\s*$` is quadratic); only the last
 * part of an event ends with the closing `]` and may be trimmed.
 */
function columnsOf(rest: string, last: boolean, key: string): Columns | undefined {
  const m = FIXED_HEAD.exec(rest);
  const g = m?.groups;
  if (!m || !g) return undefined;
  const from = m[0].length;
  let chainAt = -1; // the `] [` before the chain column
  let chain = "";
  for (let p = rest.indexOf(SEP, from); p >= 0; p = rest.indexOf(SEP, p + 1)) {
    CHAIN.lastIndex = p + SEP.length;
    const c = CHAIN.exec(rest);
    if (!c || rest.lastIndexOf(SEP, p - 1) < from) continue; // user and target need a `] [`
    if (chainAt < 0 || c[1] === key) {
      chainAt = p;
      chain = c[1] ?? "";
      if (c[1] === key) break;
    }
  }
  let body: string;
  let user: string | undefined;
  if (chainAt >= 0) {
    const both = rest.slice(from, chainAt);
    const split = both.indexOf(SEP);
    user = split >= 0 && both.indexOf(SEP, split + 1) < 0 ? both.slice(0, split) : undefined;
    body = rest.slice(chainAt + SEP.length + chain.length + SEP.length);
  } else {
    // No chain column: a guest-operation description is still read, without user or target.
    const guest = rest.indexOf(`${SEP}Guest operation`, from);
    if (guest < 0) return undefined;
    body = rest.slice(guest + SEP.length);
  }
  const tail = last ? body.trimEnd() : body;
  return {
    created: g["created"] ?? "",
    type: g["type"] ?? "",
    user,
    chain,
    desc: last && tail.endsWith("]") ? tail.slice(0, -1) : tail,
  };
}

/** Multi-part events waiting for their other parts. */
const MAX_PENDING = 1000;
/** A part count above this is not believed (a hostile `[1-99999999]` must not allocate). */
const MAX_PARTS = 64;

interface Part {
  readonly rest: string;
  readonly line: number;
  readonly raw: string;
}

interface Pending {
  readonly key: string;
  readonly parts: number;
  readonly got: Map<number, Part>;
  envelope: Envelope | undefined;
}

function openVcEvents(ctx: ReaderContext): LineParser {
  const pending = new Map<string, Pending>();

  /** Interpret a whole event: `rest1` is part 1's text after `[i-n] `, `more` the continuation. */
  const handle = (
    key: string,
    g: Columns | undefined,
    more: string,
    envelope: Envelope | undefined,
    prov: Provenance,
    partial: boolean,
  ): void => {
    if (!g) {
      ctx.issue("unparsed_line", "vCenter event line not understood", prov.line, excerpt(prov.raw));
      return;
    }
    const created = g.created;
    let time = parseIsoTime(created, ctx.options.assumeTz);
    if (!time) {
      if (envelope?.time) time = { time: envelope.time, assumed: envelope.timeAssumed ?? false };
      ctx.issue(
        created.trim() ? "bad_time" : "missing_time",
        `vCenter event ${key}: created time not understood${envelope?.time ? " (header time used)" : ""}`,
        prov.line,
        excerpt(created),
      );
    }
    const vcenter = envelope?.host ?? ctx.source.hostHint;
    if (g.user === undefined) {
      ctx.issue(
        "unparsed_line",
        `vCenter event ${key}: its user column cannot be told from the columns around it (a "${SEP}" in a name?): read without its user`,
        prov.line,
        excerpt(prov.raw),
      );
    }
    const ev: VcEvent = {
      key,
      ...(g.chain ? { chainId: g.chain } : {}),
      ...(g.type ? { type: g.type } : {}),
      ...(g.user ? { user: g.user } : {}),
      ...(g.user === undefined ? { userUnreadable: true } : {}),
      desc: g.desc + more,
    };
    const understood = interpretEvent(
      ev,
      {
        time: time?.time,
        ...(time?.assumed ? { timeAssumed: true } : {}),
        ...(vcenter ? { vcenter } : {}),
        prov,
      },
      ctx,
      envelope?.program ?? "vpxd",
    );
    // Any other event still shows its key: vCenter numbers every event in one sequence, so the
    // keys that never arrive are lost events (coverage's `vcenter-event-gap`).
    if (!understood && /^\d{1,15}$/.test(key)) {
      // the light path, when the reader's consumer takes keys without records
      if (ctx.eventKey) ctx.eventKey(Number(key), time?.time, vcenter, prov.line, prov.lineCount);
      else
        ctx.emit({
          type: "logging",
          kind: "vc.event-key",
          time: time?.time,
          ...(time?.assumed ? { timeAssumed: true } : {}),
          ...(vcenter ? { vcenter } : {}),
          eventKey: key,
          process: envelope?.program ?? "vpxd",
          evidence: "verbatim",
          prov,
        });
    } else if (!understood && !partial) ctx.skip(prov.line, "other-event");
  };

  /** Join the parts received so far, in order; `partial` when some are missing. */
  const assemble = (p: Pending, partial: boolean): void => {
    const first = p.got.get(1);
    const ordered = [...p.got.entries()].sort((a, b) => a[0] - b[0]);
    const byLine = [...p.got.values()].sort((a, b) => a.line - b.line);
    if (!first || ordered.length === 0) return;
    const firstCols = columnsOf(first.rest, p.parts === 1, p.key);
    let more = "";
    for (const [index, part] of ordered) {
      if (index === 1) continue;
      // A continuation may repeat the columns (then only its description counts) or be bare text;
      // only the last part ends with the closing `]`.
      const cols = columnsOf(part.rest, index === p.parts, p.key);
      if (cols && firstCols && cols.created === firstCols.created) more += cols.desc;
      else more += index === p.parts ? part.rest.replace(/\]\s*$/, "") : part.rest;
    }
    const prov: Provenance = {
      source: ctx.source,
      line: byLine[0]?.line ?? first.line,
      lineCount: byLine.length,
      raw: byLine.map((x) => x.raw).join("\n"),
    };
    handle(p.key, firstCols, more, p.envelope, prov, partial);
  };

  const orphan = (p: Pending): void => {
    const have = [...p.got.keys()].sort((a, b) => a - b).join(", ");
    let line = Number.POSITIVE_INFINITY;
    for (const x of p.got.values()) if (x.line < line) line = x.line;
    const first = p.got.values().next().value;
    ctx.issue(
      "orphan_part",
      `vCenter event ${p.key}: only part(s) ${have} of ${p.parts} arrived`,
      line,
      first && excerpt(first.raw),
    );
    assemble(p, true);
  };

  const line = (text: string, lineNo: number, envelope?: Envelope): void => {
    // A routed line keeps its whole physical line (header included) as provenance.
    const raw = envelope?.line ?? text;
    let env = envelope;
    let body = text;
    const at = body.indexOf("Event [");
    if (at < 0) return;
    if (!env && at > 0) {
      env = parseEnvelope(text, ctx.options);
      if (env && env.body.includes("Event [")) body = env.body;
    }
    const m = HEAD.exec(body);
    if (!m?.groups) {
      ctx.issue("unparsed_line", "vCenter event header not understood", lineNo, excerpt(raw));
      return;
    }
    const key = m.groups["key"] ?? "";
    const part = Number(m.groups["part"]);
    const parts = Number(m.groups["parts"]);
    const rest = body.slice(m.index + m[0].length);
    if (parts <= 1 && part <= 1) {
      handle(
        key,
        columnsOf(rest, true, key),
        "",
        env,
        { source: ctx.source, line: lineNo, lineCount: 1, raw },
        false,
      );
      return;
    }
    if (part < 1 || part > parts || parts > MAX_PARTS) {
      ctx.issue(
        "unparsed_line",
        `vCenter event ${key}: impossible part ${part}-${parts}`,
        lineNo,
        excerpt(raw),
      );
      return;
    }
    let p = pending.get(key);
    if (p && p.parts !== parts) {
      orphan(p);
      pending.delete(key);
      p = undefined;
    }
    if (!p) {
      if (pending.size >= MAX_PENDING) {
        const oldest = pending.values().next().value;
        if (oldest) {
          pending.delete(oldest.key);
          orphan(oldest);
        }
      }
      p = { key, parts, got: new Map(), envelope: env };
      pending.set(key, p);
    }
    if (part === 1 && env) p.envelope = env;
    p.got.set(part, { rest, line: lineNo, raw });
    if (p.got.size === p.parts) {
      pending.delete(key);
      assemble(p, false);
    }
  };

  const end = (): void => {
    for (const p of pending.values()) orphan(p);
    pending.clear();
  };

  return { line, end };
}

const SNIFF = /Event \[\d+\] \[\d+-\d+\] \[/;

export const vcEventsReader = defineReader({
  name: "vc-events",
  title: "vCenter event syslog stream (Event [key] [i-n] ...)",
  shape: "lines",
  markers: ["Event ["],
  sniff: (head) => {
    const f = shareOfLines(head, (l) => SNIFF.test(l));
    if (f === 0) return 0;
    return f >= 0.8 ? 0.9 : 0.35 + 0.4 * f;
  },
  open: openVcEvents,
});
