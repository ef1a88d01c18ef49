/**
 * Which lines handed to a line reader are still unaccounted for. Every line a reader gets must
 * end up in a record (the lines of its provenance), an issue (with its line number) or a skip;
 * a line that gets none of these is a reader bug, and is counted as not understood instead of
 * vanishing. Readers may hold lines for a while (a multi-line dump, the parts of an event), so a
 * line is only given up on at the end of the input, or once {@link MAX_OPEN} later lines have
 * been handed over: memory stays bounded whatever the input.
 */

/** Lines tracked at most; the oldest unaccounted line beyond this is given up on. */
export const MAX_OPEN = 65_536;

export class LineLedger {
  private readonly open = new Set<number>();
  /** Handed-over lines in order, from `head` on (settled ones are dropped from the front). */
  private order: number[] = [];
  private head = 0;

  constructor(private readonly unaccounted: (line: number) => void) {}

  /** A line goes to the reader. */
  handed(line: number): void {
    if (this.open.has(line)) return; // the same line again (a line split at a NUL run)
    this.open.add(line);
    this.order.push(line);
    if (this.order.length - this.head > MAX_OPEN) this.giveUp(1);
    this.dropSettled();
  }

  /**
   * The reader accounted for `count` lines from `line` on: `line`, and after it as many lines
   * still open as make `count`. A multi-line record folds its own lines, which other lines (another
   * thread's, another host's) may interleave; those were mostly accounted already, and the count
   * stays exact either way.
   */
  settle(line: number, count = 1): void {
    let left = this.open.delete(line) ? count - 1 : count;
    for (let i = this.positionAfter(line); i < this.order.length && left > 0; i++) {
      if (this.open.delete(this.order[i] ?? 0)) left--;
    }
  }

  /** Index in `order` of the first line after `line` (the order is ascending). */
  private positionAfter(line: number): number {
    let lo = this.head;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.order[mid] ?? 0) <= line) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** End of input (after the reader's `end`): what is still open was never accounted for. */
  end(): void {
    this.giveUp(this.order.length - this.head);
  }

  private giveUp(n: number): void {
    for (let i = 0; i < n && this.head < this.order.length; i++) {
      const line = this.order[this.head++] ?? 0;
      if (this.open.delete(line)) this.unaccounted(line);
    }
    this.dropSettled();
  }

  private dropSettled(): void {
    while (this.head < this.order.length && !this.open.has(this.order[this.head] ?? 0)) {
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
