/**
 * RFC 5424 structured data as VMware writes it, strict and lenient at once:
 *
 * - quoted values (`key="v"`, RFC 5424; ESXi audit records; vCenter 8.0U3+/9 `[Originator@4413 …]`)
 *   with `\"`, `\\` and `\]` unescaped; any other backslash is kept as written;
 * - curly quotes (`threadId=”639”`, seen in a VCF 9 sample) count as quotes;
 * - unquoted values (hostd 6.x-8.0 `[Originator@6876 sub=… opID=… user=…]`, malformed ESXi 8.0U2
 *   SD) may hold spaces and brackets: a value runs to the next ` <known key>=` or the element's
 *   end. An element ends at a `]` outside quotes and outside brackets the value opened itself,
 *   followed by white space, `[` or the end of the text (`sub=SoapAdapter[1].HTTPService` survives).
 *
 * Linear scans, no backtracking. Parameters come back as an array of pairs (names can repeat and
 * are attacker-controlled: never used as object keys).
 */

export interface SdElement {
  /** SD-ID as written (`Originator@6876`, `api.call@6876`). */
  readonly id: string;
  readonly params: readonly (readonly [name: string, value: string])[];
  /** The element had no closing `]` (a truncated line). */
  readonly truncated: boolean;
}

/** Keys that delimit unquoted values (telemetry.md §3.1, plus the VCF 9 `ops@4413` keys). */
const KNOWN_KEYS: readonly string[] = [
  "sub",
  "item",
  "req",
  "opID",
  "opId",
  "sid",
  "user",
  "update",
  "reason",
  "threadId",
  "threadName",
  "tid",
];

const isSpace = (c: number): boolean => c === 32 || c === 9;
const isQuote = (c: number): boolean => c === 34 || c === 0x201c || c === 0x201d;

/**
 * Index just past the `]` that closes the element opened at `start` (`s[start] === "["`), or -1
 * when the element never closes. Honours quotes, escapes and brackets nested in unquoted values.
 */
export function elementEnd(s: string, start: number): number {
  const n = s.length;
  let i = start + 1;
  let inQuote = false;
  let depth = 0;
  let fallback = -1; // first `]` + space/EOL outside quotes, for unbalanced unquoted values
  while (i < n) {
    const c = s.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i += 2;
      else {
        if (isQuote(c)) inQuote = false;
        i++;
      }
      continue;
    }
    if (c === 61 /* = */ && isQuote(s.charCodeAt(i + 1))) {
      inQuote = true;
      i += 2;
      continue;
    }
    if (c === 91 /* [ */) depth++;
    else if (c === 93 /* ] */) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : -1;
      const closes = next === -1 || isSpace(next) || next === 91;
      if (depth === 0 && closes) return i + 1;
      if (closes && fallback < 0) fallback = i + 1;
      if (depth > 0) depth--;
    }
    i++;
  }
  return fallback;
}

/** Index just past a run of SD elements starting at `start`, or -1 if the last one is unclosed. */
export function elementsEnd(s: string, start: number): number {
  let i = start;
  while (s.charCodeAt(i) === 91) {
    const e = elementEnd(s, i);
    if (e < 0) return -1;
    i = e;
  }
  return i;
}

/** Length of a known key followed by `=` at `i` (after a space), or 0. */
function knownKeyAt(s: string, i: number): number {
  for (const k of KNOWN_KEYS) {
    if (s.startsWith(k, i) && s.charCodeAt(i + k.length) === 61) return k.length;
  }
  return 0;
}

/** Receives an element's parameters, in order, as `readParams` reads them. */
export type ParamSink<T> = (target: T, name: string, value: string) => void;

const pushParam: ParamSink<[string, string][]> = (target, name, value) => {
  target.push([name, value]);
};

/**
 * Parses one element whose text is `s.slice(start, end)` (from `[`; `end` is just past `]`, or the
 * end of the text when truncated).
 */
export function parseElement(s: string, start: number, end: number, truncated = false): SdElement {
  const params: [string, string][] = [];
  const idEnd = readParams(s, start, end, truncated, params, pushParam);
  return { id: s.slice(start + 1, idEnd), params, truncated };
}

/**
 * The parameters of one element (`s.slice(start, end)` as for `parseElement`), handed to `sink`
 * one by one instead of collected: no array per element. Returns the index just after the SD-ID.
 */
export function readParams<T>(
  s: string,
  start: number,
  end: number,
  truncated: boolean,
  target: T,
  sink: ParamSink<T>,
): number {
  const stop = truncated ? end : end - 1; // exclude the closing bracket
  let i = start + 1;
  while (i < stop && !isSpace(s.charCodeAt(i))) i++;
  const idEnd = i;
  while (i < stop) {
    while (i < stop && isSpace(s.charCodeAt(i))) i++;
    if (i >= stop) break;
    const nameStart = i;
    while (i < stop) {
      const c = s.charCodeAt(i);
      if (c === 61 || isSpace(c)) break;
      i++;
    }
    if (i >= stop || s.charCodeAt(i) !== 61) {
      // A bare word (malformed): keep it as a nameless value so nothing vanishes silently.
      sink(target, "", s.slice(nameStart, i));
      continue;
    }
    const name = s.slice(nameStart, i);
    i++; // "="
    if (i < stop && isQuote(s.charCodeAt(i))) {
      i++;
      let value = "";
      let runStart = i;
      let closed = false;
      while (i < stop) {
        const c = s.charCodeAt(i);
        if (c === 92 && i + 1 < stop) {
          const e = s.charCodeAt(i + 1);
          if (e === 34 || e === 92 || e === 93) {
            value += s.slice(runStart, i) + s[i + 1];
            i += 2;
            runStart = i;
            continue;
          }
          i += 2;
          continue;
        }
        if (isQuote(c)) {
          value += s.slice(runStart, i);
          i++;
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) value += s.slice(runStart, Math.min(i, stop));
      sink(target, name, value);
      continue;
    }
    // Unquoted: up to the next " <known key>=" or the end of the element.
    const valueStart = i;
    let valueEnd = stop;
    for (let j = i; j < stop; j++) {
      if (isSpace(s.charCodeAt(j)) && knownKeyAt(s, j + 1) > 0) {
        valueEnd = j;
        break;
      }
    }
    sink(target, name, s.slice(valueStart, valueEnd));
    i = valueEnd;
  }
  return idEnd;
}

/** Every element of a run of SD elements (`[a@1 x="1"][b@2 y="2"]`); `-` gives none. */
export function parseStructuredData(sd: string): SdElement[] {
  const out: SdElement[] = [];
  let i = 0;
  while (i < sd.length) {
    while (i < sd.length && isSpace(sd.charCodeAt(i))) i++;
    if (sd.charCodeAt(i) !== 91) break;
    const e = elementEnd(sd, i);
    if (e < 0) {
      out.push(parseElement(sd, i, sd.length, true));
      break;
    }
    out.push(parseElement(sd, i, e));
    i = e;
  }
  return out;
}

/** The first value of a parameter, or undefined. */
export function param(el: SdElement, name: string): string | undefined {
  for (const [k, v] of el.params) if (k === name) return v;
  return undefined;
}
