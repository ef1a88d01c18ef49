/**
 * The share (0 to 1) of the non-blank lines of a sniffed head that `hit` accepts; 0 when every
 * line is blank. Line readers turn it into their detection score.
 */
export function shareOfLines(head: readonly string[], hit: (line: string) => boolean): number {
  let seen = 0;
  let hits = 0;
  for (const line of head) {
    if (!line.trim()) continue;
    seen++;
    if (hit(line)) hits++;
  }
  return seen === 0 ? 0 : hits / seen;
}
