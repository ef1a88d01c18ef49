/**
 * Output escaping shared by every formatter. Strings copied from logs are attacker-controlled:
 * a VM name, a guest path or a user agent can carry terminal escape sequences, HTML, bidi
 * overrides or a spreadsheet formula. Every formatter passes such strings through one of these.
 *
 * - `escapeTerminal`: text for a terminal (table output, summaries, messages): control
 *   characters become visible `\xNN` / `\u{N}` notation, nothing is interpreted.
 * - `escapeHtml`: text for HTML element content and quoted attribute values.
 * - `csvField` / `csvRow`: RFC 4180 fields with formula neutralising (OWASP CSV injection) and
 *   terminal escaping, so a CSV file is safe to `cat` and to open in a spreadsheet.
 * - `escapeMarkdown`: text for Markdown (paragraphs and table cells): HTML and Markdown syntax
 *   characters are escaped, so a log string renders as the text it is.
 * - `safeJsonStringify`: JSON whose text has no raw C1 controls, DEL, line/paragraph separators
 *   or bidi controls (they are written as `\uXXXX`, which parses back to the same value).
 */

/**
 * Characters a terminal may interpret or that change how the surrounding text is displayed:
 * C0 controls, DEL, C1 controls, the Unicode line/paragraph separators, bidi embedding, override
 * and isolate controls ("Trojan Source"), and the zero-width/invisible marks often used to hide
 * text (ZWSP..RLM, word joiner..invisible plus, BOM).
 */
const TERMINAL_UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

// String.prototype.toWellFormed is ES2024 (outside our lib): the same thing by hand.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: ReadonlyMap<string, string> = new Map([
  ["\n", "\\n"],
  ["\r", "\\r"],
  ["\t", "\\t"],
]);

const hex = (code: number, width: number): string =>
  code.toString(16).toUpperCase().padStart(width, "0");

const visible = (ch: string): string => {
  const named = NAMED.get(ch);
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u{${hex(code, 4)}}`;
};

/**
 * Text safe to print on a terminal: every control, bidi or invisible character is replaced by a
 * visible escape (`\x1B`, `\n`, `\u{202E}`). Printable text, including non-Latin scripts and
 * backslashes (Windows paths), is kept as is. Lone surrogates become U+FFFD.
 */
export function escapeTerminal(text: string): string {
  return text.replace(TERMINAL_UNSAFE, visible).replace(LONE_SURROGATE, "\ufffd");
}

/** True when `escapeTerminal` would change the text. */
export const hasTerminalUnsafe = (text: string): boolean => escapeTerminal(text) !== text;

const HTML: ReadonlyMap<string, string> = new Map([
  ["&", "&amp;"],
  ["<", "&lt;"],
  [">", "&gt;"],
  ['"', "&quot;"],
  ["'", "&#39;"],
  ["`", "&#96;"],
]);

/**
 * Text safe inside HTML element content and inside single- or double-quoted attribute values.
 * Control and bidi characters are also made visible, as for a terminal, so that a report shows
 * what the log held. Not for unquoted attributes, URLs, scripts or styles.
 */
export function escapeHtml(text: string): string {
  return escapeTerminal(text).replace(/[&<>"'`]/g, (ch) => HTML.get(ch) ?? ch);
}

/**
 * Characters that make a spreadsheet treat a cell as a formula or command (OWASP "CSV
 * injection"): `=`, `+`, `-`, `@`, tab, carriage return, and their full-width forms, which
 * some spreadsheets fold to ASCII.
 */
const FORMULA_START = /^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/;

/**
 * A value that a spreadsheet will show as text: a leading formula character gets a `'` in
 * front (OWASP's recommendation). Leading white space does not hide a formula from every
 * spreadsheet, so it is looked through.
 */
export function neutraliseCsvFormula(text: string): string {
  return FORMULA_START.test(text) || FORMULA_START.test(text.trimStart()) ? `'${text}` : text;
}

export type CsvValue = string | number | boolean | null | undefined;

/**
 * One CSV field (RFC 4180): formula-neutralised, terminal-escaped (so one record is one line),
 * and quoted when it holds a comma, quote or line break. `null`/`undefined` is an empty field;
 * numbers and booleans are written as is (a negative number is data, not a formula).
 */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = neutraliseCsvFormula(escapeTerminal(value));
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record terminated by CRLF (RFC 4180). */
export const csvRow = (values: readonly CsvValue[]): string =>
  `${values.map(csvField).join(",")}\r\n`;

/** Characters with Markdown meaning anywhere in a line (links, emphasis, code, cells, strike). */
const MARKDOWN_SPECIAL = /[\\`*_[\]|~]/g;
/** A start that would make a heading, list, quote or rule of the line. */
const MARKDOWN_BLOCK_START = /^(\s*)(\d*)([#+\-=.)])/;

/**
 * Text safe in Markdown, in a paragraph or a table cell: terminal-escaped (one line, controls
 * visible), `&`, `<`, `>` as HTML entities (no raw HTML or autolink reaches the renderer), the
 * characters that make links, emphasis, code, strike-through or split a table cell (`|`)
 * backslash-escaped, and a start that would make a heading, list or quote escaped.
 */
export function escapeMarkdown(text: string): string {
  return escapeTerminal(text)
    .replace(MARKDOWN_SPECIAL, (ch) => `\\${ch}`)
    .replace(/[&<>]/g, (ch) => HTML.get(ch) ?? ch)
    .replace(MARKDOWN_BLOCK_START, (all: string, space: string, digits: string, mark: string) =>
      digits === "" && (mark === "." || mark === ")") ? all : `${space}${digits}\\${mark}`,
    );
}

const JSON_UNSAFE = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * `JSON.stringify` whose output is also safe to print: besides the C0 controls JSON already
 * escapes, DEL, C1 controls, U+2028/U+2029, bidi and invisible characters are written as
 * `\uXXXX` escapes. The parsed value is unchanged.
 */
export function safeJsonStringify(value: unknown, space?: number): string {
  const json = JSON.stringify(value, undefined, space);
  return json === undefined
    ? "null"
    : json.replace(JSON_UNSAFE, (ch) => `\\u${hex(ch.charCodeAt(0), 4).toLowerCase()}`);
}

/**
 * Text for a terminal cut to at most `max` characters (after escaping), with `…` marking a cut.
 * For table cells; never for data formats.
 */
export function truncateForDisplay(text: string, max: number): string {
  const escaped = escapeTerminal(text);
  if (max < 1) return "";
  const chars = Array.from(escaped);
  return chars.length <= max ? escaped : `${chars.slice(0, max - 1).join("")}…`;
}
