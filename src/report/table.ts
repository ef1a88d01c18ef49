/**
 * Tables for people, fitted to a width: each column has a natural width (its widest value), a
 * least width and a priority. When the columns do not fit, the least important are dropped first,
 * then values are cut with `…`; `wide` keeps every column and every value whole. Widths are
 * measured in terminal columns (`shared/width.ts`), so wide and combining characters line up.
 * Cells are given already escaped; colour is applied after padding, so it never shifts a column.
 */
import { displayWidth, padToWidth, truncateToWidth, wrapToWidth } from "../shared/width.js";
import { DateTime } from "luxon";

/** How a table is laid out (the CLI's `Display` satisfies it). */
export interface TableDisplay {
  /** Columns available; `undefined`: no limit. */
  readonly width: number | undefined;
  /** Every column, nothing cut. */
  readonly wide: boolean;
  readonly color: boolean;
  /** IANA zone of displayed timestamps. */
  readonly zone: string;
}

/** No limit, no colour, UTC: what a library caller or a file gets. */
export const PLAIN_DISPLAY: TableDisplay = {
  width: undefined,
  wide: false,
  color: false,
  zone: "UTC",
};

export interface Column<T> {
  readonly title: string;
  readonly value: (row: T) => string;
  /** Least width before the column is dropped (default: the title's). */
  readonly min?: number;
  /** Widest the column grows to unless `wide` (default: no cap). */
  readonly max?: number;
  /** 0 is kept longest; higher numbers are dropped first when the table does not fit. */
  readonly priority: number;
  readonly align?: "left" | "right";
}

/** A table laid out: the columns kept and their widths. */
export interface Layout<T> {
  readonly columns: readonly Column<T>[];
  readonly widths: readonly number[];
  /** The columns dropped to fit (their titles), for a `--wide` hint. */
  readonly dropped: readonly string[];
}

const GAP = 2;

/** Lays `columns` out for `rows` (every row, or a sample) within `display.width`. */
export function layoutTable<T>(
  columns: readonly Column<T>[],
  rows: readonly T[],
  display: Pick<TableDisplay, "width" | "wide">,
): Layout<T> {
  const natural = columns.map((c) => {
    let w = displayWidth(c.title);
    for (const r of rows) w = Math.max(w, displayWidth(c.value(r)));
    return display.wide || c.max === undefined
      ? w
      : Math.min(w, Math.max(c.max, displayWidth(c.title)));
  });
  const least = columns.map((c, i) =>
    Math.min(natural[i] ?? 0, Math.max(c.min ?? 0, displayWidth(c.title))),
  );
  let kept = columns.map((_, i) => i);
  const limit = display.wide ? undefined : display.width;
  if (limit === undefined) {
    return { columns, widths: natural, dropped: [] };
  }
  const need = (idx: readonly number[], ws: readonly number[]): number =>
    idx.reduce((n, i) => n + (ws[i] ?? 0), 0) + GAP * Math.max(0, idx.length - 1);
  const dropped: string[] = [];
  // drop the least important columns until the most important ones fit whole and the rest at
  // their least widths: a narrow terminal shows fewer columns rather than every column cut
  const wanted = columns.map((c, i) => (c.priority === 0 ? (natural[i] ?? 0) : (least[i] ?? 0)));
  const droppable = (idx: readonly number[]): boolean =>
    idx.some((i) => (columns[i]?.priority ?? 0) > 0);
  while (kept.length > 1 && droppable(kept) && need(kept, wanted) > limit) {
    const worst = kept.reduce((a, b) =>
      (columns[b]?.priority ?? 0) > (columns[a]?.priority ?? 0) ||
      ((columns[b]?.priority ?? 0) === (columns[a]?.priority ?? 0) && b > a)
        ? b
        : a,
    );
    kept = kept.filter((i) => i !== worst);
    dropped.push(columns[worst]?.title ?? "");
  }
  while (kept.length > 1 && need(kept, least) > limit) {
    const last = kept[kept.length - 1] ?? 0;
    kept = kept.filter((i) => i !== last);
    dropped.push(columns[last]?.title ?? "");
  }
  const widths = columns.map((_, i) => least[i] ?? 0);
  let spare = limit - need(kept, widths);
  // then widen the kept columns towards their natural widths, the most important first
  const byPriority = [...kept].sort(
    (a, b) => (columns[a]?.priority ?? 0) - (columns[b]?.priority ?? 0) || a - b,
  );
  for (const i of byPriority) {
    if (spare <= 0) break;
    const add = Math.min(spare, (natural[i] ?? 0) - (widths[i] ?? 0));
    widths[i] = (widths[i] ?? 0) + add;
    spare -= add;
  }
  return {
    columns: kept.map((i) => columns[i] as Column<T>),
    widths: kept.map((i) => widths[i] ?? 0),
    dropped,
  };
}

/** One line of cells at the layout's widths; the last column is not padded. */
export function tableLine(
  cells: readonly string[],
  layout: {
    readonly widths: readonly number[];
    readonly columns: readonly { readonly align?: "left" | "right" }[];
  },
  style?: (cell: string, index: number) => string,
): string {
  const last = cells.length - 1;
  return cells
    .map((cell, i) => {
      const w = layout.widths[i] ?? 0;
      const cut = truncateToWidth(cell, w);
      const right = layout.columns[i]?.align === "right";
      const padded =
        i === last && !right
          ? cut
          : right
            ? " ".repeat(Math.max(0, w - displayWidth(cut))) + cut
            : padToWidth(cut, w);
      return style ? style(padded, i) : padded;
    })
    .join(" ".repeat(GAP))
    .trimEnd();
}

/** A row's cells for the kept columns. */
export const cellsOf = <T>(layout: Layout<T>, row: T): string[] =>
  layout.columns.map((c) => c.value(row));

/**
 * Text under a row, indented and wrapped to the width (never cut); lines after the first are
 * indented by `hang` more, so that each item stands out.
 */
export function wrapped(
  text: string,
  indent: string,
  width: number | undefined,
  hang = "",
): string[] {
  if (width === undefined) return [`${indent}${text}`];
  const first = Math.max(20, width - displayWidth(indent));
  const rest = Math.max(20, first - displayWidth(hang));
  const lines = wrapToWidth(text, first);
  if (lines.length <= 1 || hang === "") return lines.map((line) => `${indent}${line}`);
  const tail = wrapToWidth(lines.slice(1).join(" "), rest);
  return [`${indent}${lines[0] ?? ""}`, ...tail.map((line) => `${indent}${hang}${line}`)];
}

/* ------------------------------------------------------------------------------------------------
 * Timestamps and colour
 * ---------------------------------------------------------------------------------------------- */

/**
 * A UTC ISO 8601 instant as a table shows it: `2026-03-14 02:10:05Z` in UTC, else the wall time
 * in `zone` with its offset (`2026-03-14 03:10:05+01:00`). Anything unparsable is shown as given.
 */
export function displayTime(iso: string, zone: string, seconds = true): string {
  const t = DateTime.fromISO(iso, { zone: "utc" });
  if (!t.isValid) return iso;
  const shown = zone === "UTC" ? t : t.setZone(zone);
  const wall = shown.toFormat(seconds ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm");
  return zone === "UTC" ? `${wall}Z` : `${wall}${shown.toFormat("ZZ")}`;
}

/** A time column's title: `TIME (UTC)`, `TIME (Europe/Paris)`. */
export const timeTitle = (title: string, zone: string): string => `${title} (${zone})`;

const SGR: Readonly<Record<string, string>> = {
  critical: "\u001b[1;31m",
  high: "\u001b[31m",
  medium: "\u001b[33m",
  low: "\u001b[36m",
  info: "\u001b[2m",
  bold: "\u001b[1m",
  dim: "\u001b[2m",
};

/** `text` in the colour of `style` (a severity, `bold`, `dim`) when `on`. */
export const paint = (text: string, style: string, on: boolean): string => {
  const code = SGR[style];
  return on && code !== undefined && text !== "" ? `${code}${text}\u001b[0m` : text;
};
