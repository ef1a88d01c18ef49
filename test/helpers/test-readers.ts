/**
 * Small readers for testing the input layer on its own: a line reader for hostd-style event lines
 * and a document reader for a JSON array of events. They implement the reader contract
 * (src/ingest/types.ts) the way the real readers do, with a fraction of the grammar.
 */
import type { Observation, SessionRecord } from "../../src/model/record.js";
import {
  defineReader,
  type DocumentReader,
  type LineReader,
  type ReaderContext,
} from "../../src/ingest/types.js";

const EVENT =
  /^(?<ts>\d{4}-\d{2}-\d{2}T[\d:.]+Z) \S+ Hostd\[\d+\]: \[[^\]]*\] Event (?<key>\d+) : Guest operation (?<op>.+?) performed on Virtual machine (?<vm>.*)\.$/;
const LOGIN =
  /^(?<ts>\d{4}-\d{2}-\d{2}T[\d:.]+Z) .*User (?<user>\S+)@(?<ip>\S+) logged in as (?<ua>.*)$/;

/** hostd-style event lines: `... Event N : Guest operation <Op> performed on Virtual machine <vm>.` */
export const testLineReader: LineReader = defineReader({
  name: "hostd",
  title: "test hostd events",
  shape: "lines",
  markers: ["Guest operation", "logged in"],
  sniff: (head) => {
    const lines = head.filter((l) => l.trim() !== "");
    if (lines.length === 0) return 0;
    return lines.filter((l) => /\bHostd\[\d+\]:/.test(l)).length / lines.length;
  },
  open: (ctx: ReaderContext) => ({
    line: (text, lineNo) => {
      const prov = { source: ctx.source, line: lineNo, lineCount: 1, raw: text };
      const ev = EVENT.exec(text)?.groups;
      if (ev) {
        const record: Observation = {
          type: "observation",
          kind: "hostd.event",
          time: ev["ts"],
          vm: { name: ev["vm"] ?? "" },
          method: ev["op"] ?? "",
          eventKey: ev["key"] ?? "",
          ...(ctx.source.hostHint ? { host: ctx.source.hostHint } : {}),
          evidence: "verbatim",
          prov,
        };
        ctx.emit(record);
        return;
      }
      const login = LOGIN.exec(text)?.groups;
      if (login) {
        const record: SessionRecord = {
          type: "session",
          kind: "login",
          time: login["ts"],
          user: login["user"] ?? "",
          sourceIp: login["ip"] ?? "",
          userAgent: login["ua"] ?? "",
          evidence: "verbatim",
          prov,
        };
        ctx.emit(record);
        return;
      }
      ctx.issue("unparsed_line", "marker line not understood", lineNo, text);
    },
    end: () => undefined,
  }),
});

/** A JSON array of `{ "createdTime": ..., "fullFormattedMessage": ... }` (UTF-8, BOM allowed). */
export const testDocumentReader: DocumentReader = defineReader({
  name: "vc-events-json",
  title: "test JSON events",
  shape: "document",
  sniff: (head) => {
    const text = head
      .join("\n")
      .replace(/^\ufeff/, "")
      .trimStart();
    return text.startsWith("[") && text.includes('"createdTime"') ? 0.9 : 0;
  },
  read: async (bytes, ctx) => {
    const parts: Buffer[] = [];
    for await (const chunk of bytes) parts.push(chunk);
    const text = Buffer.concat(parts)
      .toString("utf8")
      .replace(/^\ufeff/, "");
    let events: unknown;
    try {
      events = JSON.parse(text);
    } catch (error) {
      ctx.issue("bad_json", (error as Error).message);
      return;
    }
    if (!Array.isArray(events)) return;
    events.forEach((e: { createdTime?: string; fullFormattedMessage?: string }, i) => {
      ctx.emit({
        type: "observation",
        kind: "vc.event",
        time: e.createdTime,
        ...(e.fullFormattedMessage !== undefined ? { method: e.fullFormattedMessage } : {}),
        evidence: "verbatim",
        prov: { source: ctx.source, line: i + 1, lineCount: 1, raw: JSON.stringify(e) },
      });
    });
  },
});

export const testReaders = [testLineReader, testDocumentReader] as const;

/** An ESXi 8 hostd line. */
export const hostdLine = (n: number, op = "Start Program", vm = "vm1"): string =>
  `2024-06-04T21:58:${String(n % 60).padStart(2, "0")}.000Z In(166) Hostd[1050232]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${n} : Guest operation ${op} performed on Virtual machine ${vm}.`;

/** An ESXi 8 hostd line of no interest. */
export const noiseLine = (n: number): string =>
  `2024-06-04T21:58:00.${String(n % 1000).padStart(3, "0")}Z In(166) Hostd[1050232]: [Originator@6876 sub=Libs] SOCKET ${n} recv detected client closed connection`;
