/**
 * Name globs, shared by every place that matches a name a user or a policy gives against names
 * from logs (accounts, VMs, hosts): case-insensitive, `*` any run, `?` one character. No regex is
 * built from input, and nothing backtracks: the pattern is cut at its stars into segments, the
 * first anchored at the start, the last at the end, and each one between found at its leftmost
 * place after the previous (leftmost is always right for globs). The name is passed once per
 * segment at most (`indexOf`, or Shift-And for segments with `?`), whatever the stars.
 */

/** True when `pattern` has glob characters. */
export const hasGlob = (pattern: string): boolean => /[*?]/.test(pattern);

/** A pattern cut at its stars (lower case); `exact` when it has none. */
interface Compiled {
  readonly segments: readonly string[];
  readonly exact: boolean;
}

const compiled = new Map<string, Compiled>();
const MAX_COMPILED = 1024;

function compile(pattern: string): Compiled {
  let c = compiled.get(pattern);
  if (!c) {
    const p = pattern.toLowerCase();
    c = { segments: p.split("*"), exact: !p.includes("*") };
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, c);
  }
  return c;
}

let steps = 0;

/** Characters compared by every match so far (tests prove the bound with it). */
export const globStepCount = (): number => steps;

/** `seg` (with `?` for any character) matches `t` at `at`. */
function matchAt(t: string, seg: string, at: number): boolean {
  if (at < 0 || at + seg.length > t.length) return false;
  for (let k = 0; k < seg.length; k++) {
    steps++;
    const c = seg.charCodeAt(k);
    if (c !== 63 /* ? */ && c !== t.charCodeAt(at + k)) return false;
  }
  return true;
}

/** Shift-And tables of a segment with `?`: a bit per segment position, per character. */
interface Wild {
  readonly words: number;
  readonly masks: ReadonlyMap<number, Uint32Array>;
  /** Positions any character matches (the `?`s): the mask of every other character. */
  readonly any: Uint32Array;
}

const wildTables = new Map<string, Wild>();

function wild(seg: string): Wild {
  let w = wildTables.get(seg);
  if (w) return w;
  const words = Math.ceil(seg.length / 32);
  const any = new Uint32Array(words);
  for (let k = 0; k < seg.length; k++) if (seg[k] === "?") any[k >> 5]! |= 1 << (k & 31);
  const masks = new Map<number, Uint32Array>();
  for (let k = 0; k < seg.length; k++) {
    const c = seg.charCodeAt(k);
    if (c === 63) continue;
    let m = masks.get(c);
    if (!m) {
      m = Uint32Array.from(any);
      masks.set(c, m);
    }
    m[k >> 5]! |= 1 << (k & 31);
  }
  w = { words, masks, any };
  if (wildTables.size >= MAX_COMPILED) wildTables.clear();
  wildTables.set(seg, w);
  return w;
}

/**
 * Leftmost place at or after `from` where `seg` matches and ends by `end`, or -1. Without `?`,
 * `indexOf`; with, Shift-And (one pass, a machine word per 32 segment characters), so a segment
 * like `a?a?a?…` costs one pass over the name, not one per place in it.
 */
function find(t: string, seg: string, from: number, end: number): number {
  if (!seg.includes("?")) {
    const i = t.indexOf(seg, from);
    steps += (i < 0 ? t.length : i) - from + seg.length;
    return i >= 0 && i + seg.length <= end ? i : -1;
  }
  const { words, masks, any } = wild(seg);
  const state = new Uint32Array(words);
  const top = seg.length - 1;
  for (let i = from; i < end; i++) {
    const m = masks.get(t.charCodeAt(i)) ?? any;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const d = state[w]!;
      state[w] = (((d << 1) | carry) & m[w]!) >>> 0;
      carry = d >>> 31;
    }
    steps += words;
    if ((state[top >> 5]! >>> (top & 31)) & 1) return i - top;
  }
  return -1;
}

/** Case-insensitive glob match: `*` any run of characters (including none), `?` exactly one. */
export function globMatch(pattern: string, text: string): boolean {
  const { segments, exact } = compile(pattern);
  const t = text.toLowerCase();
  const first = segments[0] ?? "";
  if (exact) return t.length === first.length && matchAt(t, first, 0);
  const last = segments[segments.length - 1] ?? "";
  if (first.length + last.length > t.length) return false;
  if (!matchAt(t, first, 0) || !matchAt(t, last, t.length - last.length)) return false;
  let pos = first.length;
  const end = t.length - last.length;
  for (let s = 1; s < segments.length - 1; s++) {
    const seg = segments[s] ?? "";
    if (seg.length === 0) continue;
    const at = find(t, seg, pos, end);
    if (at < 0) return false;
    pos = at + seg.length;
  }
  return true;
}
