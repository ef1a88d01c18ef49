/**
 * The simulator's files on disk: lines are buffered with their time and written in time order
 * once no later run can still put a line before them (`flushBefore`), so memory holds about a day
 * of lines whatever the length of the period.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

interface Pending {
  readonly t: number;
  readonly n: number;
  readonly text: string;
}

interface FileState {
  readonly fd: number;
  /** A JSON array: items are separated by commas and the file is closed by `]`. */
  readonly json: boolean;
  pending: Pending[];
  items: number;
  bytes: number;
}

export interface WrittenFile {
  readonly path: string;
  readonly lines: number;
  readonly bytes: number;
}

export class Output {
  readonly #dir: string;
  readonly #files = new Map<string, FileState>();
  #n = 0;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #file(path: string, json: boolean): FileState {
    let f = this.#files.get(path);
    if (!f) {
      const full = join(this.#dir, path);
      mkdirSync(dirname(full), { recursive: true });
      f = { fd: openSync(full, "w"), json, pending: [], items: 0, bytes: 0 };
      this.#files.set(path, f);
      if (json) this.#write(f, "[\n");
    }
    return f;
  }

  #write(f: FileState, text: string): void {
    writeSync(f.fd, text);
    f.bytes += Buffer.byteLength(text);
  }

  /** A line (a JSON item for `json` files) at time `t`. */
  add(path: string, t: number, text: string, json = false): void {
    this.#file(path, json).pending.push({ t, n: this.#n++, text });
  }

  /** Writes the lines before `t` of every file, in time order. */
  flushBefore(t: number): void {
    for (const f of this.#files.values()) {
      if (f.pending.length === 0) continue;
      const ready = f.pending.filter((p) => p.t < t).sort((a, b) => a.t - b.t || a.n - b.n);
      if (ready.length === 0) continue;
      f.pending = f.pending.filter((p) => p.t >= t);
      const parts: string[] = [];
      for (const p of ready) {
        parts.push(f.json ? `${f.items > 0 ? ",\n" : ""}${p.text}` : `${p.text}\n`);
        f.items++;
      }
      this.#write(f, parts.join(""));
    }
  }

  /** Flushes everything and closes the files. */
  close(): WrittenFile[] {
    this.flushBefore(Number.POSITIVE_INFINITY);
    const written: WrittenFile[] = [];
    for (const [path, f] of this.#files) {
      if (f.json) this.#write(f, "\n]\n");
      closeSync(f.fd);
      written.push({ path, lines: f.items, bytes: f.bytes });
    }
    return written.sort((a, b) => a.path.localeCompare(b.path));
  }
}
