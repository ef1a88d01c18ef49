/**
 * Display width of text in a terminal's columns (`string-width`: East Asian wide characters take
 * two, combining marks and zero-width joiners none), and cutting text to a width by grapheme, so
 * that tables and the progress line line up whatever script a VM or user name is written in.
 */
import stringWidth from "string-width";

export const displayWidth = (text: string): number => stringWidth(text);

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

const graphemes = (text: string): string[] => Array.from(segmenter.segment(text), (s) => s.segment);

/** The marker a cut value ends with. */
export const CUT = "…";

/** `text` cut to at most `width` columns, ending with `…` when anything was cut. */
export function truncateToWidth(text: string, width: number): string {
  if (width <= 0) return "";
  if (stringWidth(text) <= width) return text;
  let used = 0;
  let out = "";
  for (const g of graphemes(text)) {
    const w = stringWidth(g);
    if (used + w > width - 1) break;
    out += g;
    used += w;
  }
  return `${out}${CUT}`;
}

/** `text` cut to `width` columns keeping its start and its end (a path's file name) visible. */
export function truncateMiddle(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  if (width <= 1) return truncateToWidth(text, width);
  const parts = graphemes(text);
  const head = Math.floor((width - 1) / 2);
  let start = "";
  let used = 0;
  for (const g of parts) {
    const w = stringWidth(g);
    if (used + w > head) break;
    start += g;
    used += w;
  }
  let end = "";
  let tail = width - 1 - used;
  for (let i = parts.length - 1; i >= 0; i--) {
    const g = parts[i] ?? "";
    const w = stringWidth(g);
    if (w > tail) break;
    end = g + end;
    tail -= w;
  }
  return `${start}${CUT}${end}`;
}

/** `text` padded with spaces to `width` columns (never cut). */
export const padToWidth = (text: string, width: number): string =>
  text + " ".repeat(Math.max(0, width - stringWidth(text)));

/**
 * `text` broken into lines of at most `width` columns, at spaces where it can be and inside a
 * word only when the word alone is wider than a line.
 */
export function wrapToWidth(text: string, width: number): string[] {
  if (width <= 0 || stringWidth(text) <= width) return [text];
  const lines: string[] = [];
  let line = "";
  // split at single spaces: a run of spaces inside a line is kept as written
  for (const word of text.split(" ")) {
    let w = word;
    while (stringWidth(w) > width) {
      if (line !== "") {
        lines.push(line);
        line = "";
      }
      const head = truncateToWidth(w, width + 1).slice(0, -1);
      const cut = head === "" ? (graphemes(w)[0] ?? "") : head;
      lines.push(cut);
      w = w.slice(cut.length);
    }
    const next = line === "" ? w : `${line} ${w}`;
    if (stringWidth(next) <= width) line = next;
    else {
      lines.push(line.trimEnd());
      line = w;
    }
  }
  if (line.trim() !== "") lines.push(line.trimEnd());
  return lines;
}
