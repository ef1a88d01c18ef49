/**
 * hostd's text dump of a VMODL value, as `Solo.Vmomi` writes it after `Arg <name>:` and `Result:`
 * (one `--> ` continuation line per dump line):
 *
 * ```
 * (vim.vm.guest.ProcessManager.ProgramSpec) {
 *    programPath = "kill",
 *    arguments = "USR1",
 *    workingDirectory = <unset>,
 * }
 * ```
 *
 * Only the top-level fields are read. Strings may span lines (`reason = "vix error codes = (35,
 * 0).\n"`); `\"` and `\\` are unescaped. A scalar dump (`"C:\\temp\\x"`, `'vim.VirtualMachine:3'`)
 * gives `scalar`. A dump cut short is read as far as it goes (`complete: false`).
 */

export interface Dump {
  /** `vim.vm.guest.ProcessManager.ProgramSpec` for `(type) {`. */
  readonly type?: string;
  /** Top-level fields: the string value, `undefined` for `<unset>`, nested values as raw text. */
  readonly fields: ReadonlyMap<string, string | undefined>;
  /** A dump that is a single value (string, moref, number). */
  readonly scalar?: string;
  readonly complete: boolean;
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** A quoted string at `i` (`"` or `'`): its unescaped value and the index after it. */
function readString(s: string, i: number): { value: string; end: number; closed: boolean } {
  const q = s.charCodeAt(i);
  let value = "";
  let j = i + 1;
  let run = j;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 92 /* \ */ && j + 1 < s.length) {
      value += s.slice(run, j) + s[j + 1];
      j += 2;
      run = j;
      continue;
    }
    if (c === q) return { value: value + s.slice(run, j), end: j + 1, closed: true };
    j++;
  }
  return { value: value + s.slice(run), end: s.length, closed: false };
}

/** Index after a nested value starting at `i` (`(type) {…}`, `[…]`, `(type) null`), quote-aware. */
function skipValue(s: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 34 || c === 39) {
      j = readString(s, j).end;
      continue;
    }
    if (c === 123 || c === 91 || c === 40) depth++;
    else if (c === 125 || c === 93 || c === 41) {
      if (depth === 0) return j;
      depth--;
    } else if (c === 44 /* , */ && depth === 0) return j;
    else if (c === 10 && depth === 0) return j;
    j++;
  }
  return j;
}

/** Parses the joined dump text (continuation texts joined with "\n", `-->` removed). */
export function parseDump(text: string): Dump {
  const fields = new Map<string, string | undefined>();
  let i = 0;
  const n = text.length;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  const c0 = text.charCodeAt(i);
  if (c0 === 34 || c0 === 39) {
    const s = readString(text, i);
    return { fields, scalar: s.value, complete: s.closed };
  }
  if (c0 !== 40 /* ( */) {
    const line = text.slice(i).split("\n", 1)[0] ?? "";
    return { fields, ...(line.trim() ? { scalar: line.trim() } : {}), complete: true };
  }
  const close = text.indexOf(")", i);
  if (close < 0) return { fields, complete: false };
  const type = text.slice(i + 1, close);
  i = close + 1;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== 123 /* { */) {
    // `(type) null` or `(type) value`
    return { type, fields, scalar: text.slice(i).trim(), complete: true };
  }
  i++;
  while (i < n) {
    while (i < n && (isSpace(text.charCodeAt(i)) || text.charCodeAt(i) === 44)) i++;
    if (i >= n) break;
    if (text.charCodeAt(i) === 125 /* } */) return { type, fields, complete: true };
    const nameStart = i;
    while (i < n && !isSpace(text.charCodeAt(i)) && text.charCodeAt(i) !== 61) i++;
    const name = text.slice(nameStart, i);
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 61 /* = */) {
      // Not `name = value`: skip the line.
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    i++;
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39) {
      const s = readString(text, i);
      fields.set(name, s.value);
      i = s.end;
      if (!s.closed) return { type, fields, complete: false };
      continue;
    }
    const end = skipValue(text, i);
    const raw = text.slice(i, end).trim();
    fields.set(name, raw === "<unset>" ? undefined : raw);
    i = end;
  }
  return { type, fields, complete: false };
}
