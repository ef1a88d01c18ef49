/**
 * The report's charts as inline SVG, drawn when the report is written: no script, no external
 * resource, every figure also given as text (`<title>`, `<desc>`, and a title per bar or cell for
 * a pointer). Coordinates are rounded so that the same data give the same bytes.
 */
import { escapeHtml } from "../escape.js";
import type { TimelinePoint } from "./model.js";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Operations per day (or week) as bars, the unexpected ones in a second colour. */
export function timelineSvg(
  id: string,
  unit: "day" | "week",
  points: readonly TimelinePoint[],
): string {
  const width = 720;
  const height = 200;
  const left = 40;
  const bottom = 24;
  const top = 10;
  const plotW = width - left - 10;
  const plotH = height - bottom - top;
  const max = Math.max(1, ...points.map((p) => p.operations));
  const total = points.reduce((n, p) => n + p.operations, 0);
  const unexpected = points.reduce((n, p) => n + p.unexpected, 0);
  const busiest = points.reduce<TimelinePoint | undefined>(
    (a, p) => (a === undefined || p.operations > a.operations ? p : a),
    undefined,
  );
  const desc =
    points.length === 0
      ? "No operation to chart."
      : `Guest operations per ${unit} from ${points[0]!.start} to ${points.at(-1)!.start}: ${total} in all, ${unexpected} not expected by the policy; the busiest ${unit} is ${busiest?.start ?? "-"} with ${busiest?.operations ?? 0}.`;
  const step = points.length === 0 ? plotW : plotW / points.length;
  const barW = Math.max(1, step * 0.8);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d">`,
    `<title id="${id}-t">Guest operations per ${unit}</title>`,
    `<desc id="${id}-d">${escapeHtml(desc)}</desc>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" class="axis"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" class="axis"/>`,
    `<text x="${left - 4}" y="${top + 8}" text-anchor="end" class="tick">${max}</text>`,
    `<text x="${left - 4}" y="${top + plotH}" text-anchor="end" class="tick">0</text>`,
  );
  points.forEach((p, i) => {
    const x = left + i * step + (step - barW) / 2;
    const h = (p.operations / max) * plotH;
    const hu = (p.unexpected / max) * plotH;
    parts.push(
      `<g class="bar"><title>${escapeHtml(`${p.start}: ${p.operations} operations, ${p.unexpected} not expected`)}</title>` +
        `<rect x="${r1(x)}" y="${r1(top + plotH - h)}" width="${r1(barW)}" height="${r1(h)}" class="ops"/>` +
        (p.unexpected > 0
          ? `<rect x="${r1(x)}" y="${r1(top + plotH - hu)}" width="${r1(barW)}" height="${r1(hu)}" class="unexpected"/>`
          : "") +
        `</g>`,
    );
  });
  if (points.length > 0) {
    parts.push(
      `<text x="${left}" y="${height - 6}" class="tick">${escapeHtml(points[0]!.start)}</text>`,
      `<text x="${width - 10}" y="${height - 6}" text-anchor="end" class="tick">${escapeHtml(points.at(-1)!.start)}</text>`,
    );
  }
  parts.push(`</svg>`);
  return parts.join("");
}

/** Operations per local weekday and hour (rows Monday to Sunday, columns 00 to 23). */
export function heatmapSvg(id: string, zone: string, grid: readonly (readonly number[])[]): string {
  const cell = 24;
  const left = 40;
  const top = 20;
  const width = left + 24 * cell + 10;
  const height = top + 7 * cell + 10;
  const max = Math.max(0, ...grid.flat());
  let best = { day: 0, hour: 0, n: 0 };
  grid.forEach((row, d) =>
    row.forEach((n, h) => {
      if (n > best.n) best = { day: d, hour: h, n };
    }),
  );
  const desc =
    max === 0
      ? "No operation with a time to chart."
      : `Guest operations by hour of the week in ${zone}: the busiest hour is ${WEEKDAYS[best.day]} ${String(best.hour).padStart(2, "0")}:00 with ${best.n}; darker cells hold more operations.`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d">`,
    `<title id="${id}-t">${escapeHtml(`Hour of week (${zone})`)}</title>`,
    `<desc id="${id}-d">${escapeHtml(desc)}</desc>`,
  ];
  for (let h = 0; h < 24; h += 3) {
    parts.push(
      `<text x="${left + h * cell + 2}" y="${top - 6}" class="tick">${String(h).padStart(2, "0")}</text>`,
    );
  }
  grid.forEach((row, d) => {
    parts.push(
      `<text x="${left - 6}" y="${top + d * cell + 16}" text-anchor="end" class="tick">${WEEKDAYS[d]}</text>`,
    );
    row.forEach((n, h) => {
      // white to deep blue, by share of the busiest cell
      const k = max === 0 ? 0 : n / max;
      const shade = (from: number, to: number): number => Math.round(from + (to - from) * k);
      const fill =
        n === 0 ? "#f3f4f6" : `rgb(${shade(219, 30)},${shade(234, 64)},${shade(254, 175)})`;
      parts.push(
        `<rect x="${left + h * cell}" y="${top + d * cell}" width="${cell - 2}" height="${cell - 2}" fill="${fill}" class="cell"><title>${WEEKDAYS[d]} ${String(h).padStart(2, "0")}:00: ${n}</title></rect>`,
      );
    });
  });
  parts.push(`</svg>`);
  return parts.join("");
}
