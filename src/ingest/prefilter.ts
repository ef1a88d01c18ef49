/**
 * The marker prefilter: finds, in a block of complete lines, the lines that contain one of a
 * reader's markers, and counts every line, without decoding a single byte to a string.
 *
 * The fast path is a small WebAssembly SIMD program generated for each marker set (a "Teddy"
 * multi-substring search, as in Hyperscan and ripgrep): per 16 bytes it classifies the first three
 * bytes of every marker through nibble tables, so its cost hardly depends on how many markers there
 * are, and it counts `\n` bytes in the same pass. Candidates are verified byte by byte. A plain
 * `Buffer.indexOf` implementation serves where WebAssembly is unavailable (`--jitless`) and as the
 * reference the fast path is tested against. docs/DESIGN.md has the measurements.
 */

/** Finds marker lines in `input[0, end)`; see {@link createMarkerScanner}. */
export interface MarkerScanner {
  /** Where callers put the bytes to scan: `capacity` bytes (plus a little slack the scan may read). */
  readonly input: Buffer;
  readonly capacity: number;
  /**
   * All of the scanner's memory, `input` at its start. A scanner in a {@link ScanMemory} also
   * scans bytes put elsewhere in it (`scanRange`), so that reads land where they are scanned.
   */
  readonly memory: Buffer;
  /** `"wasm"` or `"js"`: which implementation runs. */
  readonly engine: "wasm" | "js";
  /**
   * Scans `input[0, end)`. Returns the number of lines that contain a marker (each line once);
   * `hitPos(i)` is the offset of a marker inside the i-th such line and `hitLine(i)` the number of
   * `\n` bytes before it. `newlines()` is the number of `\n` bytes in the range.
   */
  readonly scan: (end: number) => number;
  /**
   * `scan` over `memory[start, end)`, a range that starts at a line start (offsets, `hitPos`
   * included, count from the start of `memory`). The bytes up to 64 past `end` must be memory.
   */
  readonly scanRange: (start: number, end: number) => number;
  readonly hitPos: (i: number) => number;
  readonly hitLine: (i: number) => number;
  readonly newlines: () => number;
  /**
   * Complete lines (ended by `\n` inside the range) longer than `maxLineBytes` bytes (without the
   * `\n`) in the last scan, and the indexes of the first {@link LONG_LINE_EXAMPLES} of them.
   */
  readonly longLines: () => number;
  readonly longLine: (i: number) => number;
  /** 16-byte blocks of the last scan that took the verifying path (a measure of false alarms). */
  readonly slowBlocks: () => number;
  /**
   * Hands the scanner back for reuse by a later `createMarkerScanner` with the same markers and
   * sizes (an input per file adds up: each scanner holds a few MiB). Do not use it afterwards.
   */
  readonly release: () => void;
}

/** How many long-line indexes a scan keeps (the count is exact). */
export const LONG_LINE_EXAMPLES = 32;

const NL = 0x0a;
/** Bytes past a range's end the vector loads may touch (3 loads of 16 bytes at offsets 0..2). */
export const SLACK = 64;

/**
 * Memory a scanner can be placed in, shared with other users of it (the read buffers of
 * outer.ts): `layout` says where the scanner's own areas are, and whatever lies between its input
 * area and them (`reserved`) may hold ranges to scan in place. `memory` is a shared
 * `WebAssembly.Memory` of `layout.pages` pages; only one scanner lives in it at a time.
 */
export interface ScanMemory {
  readonly memory: object;
  readonly buffer: SharedArrayBuffer;
  readonly layout: ScanLayout;
  /** Takes the memory for one scanner; false when another scanner has it. */
  readonly claim: () => boolean;
  readonly free: () => void;
}

/**
 * A scanner for `markers` (case-sensitive, UTF-8, non-empty, without `\n`). An empty marker list
 * only counts lines. `engine: "js"` forces the portable implementation.
 */
export function createMarkerScanner(
  markers: readonly string[],
  capacity: number,
  options: {
    engine?: "wasm" | "js";
    maxLineBytes?: number;
    /** Text like the one to scan (the input's head): picks the cheapest fingerprints for it. */
    sample?: Buffer;
    /** Place the scanner in this memory when it is free and large enough (WebAssembly only). */
    shared?: ScanMemory;
  } = {},
): MarkerScanner {
  const maxLine = options.maxLineBytes ?? capacity;
  for (const m of markers) {
    if (m.length === 0 || m.includes("\n")) {
      throw new TypeError(`invalid marker ${JSON.stringify(m)}: must be non-empty, without \\n`);
    }
  }
  const bytes = [...new Set(markers)].map((m) => Buffer.from(m, "utf8"));
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  // The SIMD scanner checks line lengths per 64-byte group: it needs limits of 64 bytes or more.
  const engine = options.engine !== "js" && wasm && maxLine >= 64 ? "wasm" : "js";
  const shared = options.shared;
  if (engine === "wasm" && wasm && shared && capacity <= shared.layout.capacity && shared.claim()) {
    try {
      const placed = { memory: shared, capacity: shared.layout.capacity };
      return wasmScanner(wasm, bytes, placed, maxLine, options.sample, () => shared.free());
    } catch {
      shared.free();
    }
  }
  const key = [engine, capacity, maxLine, ...bytes.map((b) => b.toString("hex"))].join("\0");
  const pooled = scannerPool.get(key)?.pop();
  if (pooled) return pooled;
  const release = (scanner: MarkerScanner): void => {
    const free = scannerPool.get(key) ?? [];
    if (free.length < 2 && !free.includes(scanner)) free.push(scanner);
    if (scannerPool.size > 32) scannerPool.clear();
    scannerPool.set(key, free);
  };
  if (engine === "wasm" && wasm) {
    try {
      return wasmScanner(wasm, bytes, { capacity }, maxLine, options.sample, release);
    } catch {
      // No SIMD support in this runtime: fall through to the portable scanner.
    }
  }
  return jsScanner(bytes, capacity, maxLine, release);
}

/** Released scanners by marker set and sizes, reused by the next input of the same format. */
const scannerPool = new Map<string, MarkerScanner[]>();

// --- portable implementation ---------------------------------------------------------------------

function jsScanner(
  markers: readonly Buffer[],
  capacity: number,
  maxLine: number,
  release: (scanner: MarkerScanner) => void,
): MarkerScanner {
  const input = Buffer.alloc(capacity + SLACK);
  let pos: number[] = [];
  let line: number[] = [];
  let long: number[] = [];
  let longCount = 0;
  let nl = 0;
  const scanRange = (start: number, end: number): number => {
    if (end > capacity || start < 0 || start > end) {
      throw new RangeError(`scan range ${start}..${end} out of range`);
    }
    const hits: number[] = [];
    for (const m of markers) {
      let p = start;
      for (;;) {
        const h = input.indexOf(m, p);
        if (h < 0 || h + m.length > end) break;
        hits.push(h);
        const e = input.indexOf(NL, h);
        if (e < 0 || e >= end) break;
        p = e + 1;
      }
    }
    hits.sort((a, b) => a - b);
    pos = [];
    line = [];
    long = [];
    longCount = 0;
    nl = 0;
    let lineStart = start;
    let k = 0;
    for (;;) {
      const e = input.indexOf(NL, lineStart);
      const lineEnd = e < 0 || e >= end ? end : e;
      let first = true;
      while (k < hits.length && (hits[k] ?? end) < lineEnd) {
        if (first) {
          pos.push(hits[k] ?? 0);
          line.push(nl);
          first = false;
        }
        k++;
      }
      if (lineEnd === end) break;
      if (lineEnd - lineStart > maxLine) {
        if (long.length < LONG_LINE_EXAMPLES) long.push(nl);
        longCount++;
      }
      nl++;
      lineStart = lineEnd + 1;
    }
    return pos.length;
  };
  const scanner: MarkerScanner = {
    input,
    capacity,
    memory: input,
    engine: "js",
    scan: (end) => scanRange(0, end),
    scanRange,
    hitPos: (i) => pos[i] ?? -1,
    hitLine: (i) => line[i] ?? -1,
    newlines: () => nl,
    longLines: () => longCount,
    longLine: (i) => long[i] ?? -1,
    slowBlocks: () => 0,
    release: () => release(scanner),
  };
  return scanner;
}

// --- WebAssembly SIMD implementation -------------------------------------------------------------

/** The slice of the WebAssembly JS API used here (the DOM lib, which declares it, is not loaded). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  };
}
type WasmModule = object;
interface ScannerExports {
  readonly scan: (start: number, end: number, maxLine: number) => number;
  readonly mem: { readonly buffer: ArrayBuffer };
}

/** Where a scanner lives: its own memory of `capacity` input bytes, or a place in shared memory. */
interface Placement {
  readonly capacity: number;
  readonly memory?: ScanMemory;
}

/**
 * A shared memory for a scanner of `capacity` input bytes followed by `reserved` bytes for the
 * caller, scanning ranges of up to `maxRange` bytes; undefined where WebAssembly (or its shared
 * memory) is unavailable.
 */
export function createScanMemory(
  capacity: number,
  reserved: number,
  maxRange: number,
): Omit<ScanMemory, "claim" | "free"> | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return undefined;
  const layout = scanLayout(capacity, reserved, maxRange);
  try {
    const memory = new wasm.Memory({ initial: layout.pages, maximum: layout.pages, shared: true });
    if (!(memory.buffer instanceof SharedArrayBuffer)) return undefined;
    return { memory, buffer: memory.buffer, layout };
  } catch {
    return undefined;
  }
}

const moduleCache = new Map<string, WasmModule>();

/** Teddy parameters: the fingerprint width and the offset of each marker's window. */
interface Plan {
  readonly width: number;
  readonly windows: readonly number[];
  /** Marker indexes per bucket (at most 8 buckets). */
  readonly buckets: readonly (readonly number[])[];
}

/**
 * Per-byte cost of the fast loop by fingerprint width, and cost of one 16-byte block taken
 * through the verifying path, in nanoseconds (measured on the benchmark machine; only their
 * ratio matters).
 */
const BYTE_COST = new Map([
  [1, 0.15],
  [2, 0.17],
  [3, 0.32],
]);
const SLOW_BLOCK_COST = 30;

/** Plans chosen from a sample, per marker set: inputs of one format look alike. */
const planCache = new Map<string, Plan>();
/** A sample shorter than this is not typical enough to plan from. */
const MIN_SAMPLE = 16 * 1024;

function wasmScanner(
  wasm: WasmApi,
  markers: readonly Buffer[],
  place: Placement,
  maxLine: number,
  sample: Buffer | undefined,
  release: (scanner: MarkerScanner) => void,
): MarkerScanner {
  const capacity = place.capacity;
  const shortest = markers.length === 0 ? 0 : Math.min(...markers.map((m) => m.length));
  const markerKey = markers.map((m) => m.toString("hex")).join(",");
  const cached = planCache.get(markerKey);
  if (cached) return wasmInstance(wasm, markers, cached, place, maxLine, release);
  if (!sample || sample.length < MIN_SAMPLE || shortest < 2) {
    const plan = planFor(markers, Math.min(3, shortest), undefined);
    return wasmInstance(wasm, markers, plan, place, maxLine, release);
  }
  // Plan every width on the sample, try each, keep the cheapest by the cost model.
  let best: { scanner: MarkerScanner; plan: Plan; cost: number } | undefined;
  for (const width of [...new Set([2, Math.min(3, shortest)])]) {
    const plan = planFor(markers, width, sample);
    const scanner = wasmInstance(wasm, markers, plan, place, maxLine, release);
    const n = Math.min(sample.length, capacity);
    sample.copy(scanner.input, 0, 0, n);
    scanner.scan(n);
    const cost = (BYTE_COST.get(width) ?? 0.3) * n + scanner.slowBlocks() * SLOW_BLOCK_COST;
    if (!best || cost < best.cost) best = { scanner, plan, cost };
  }
  const chosen = best as { scanner: MarkerScanner; plan: Plan };
  if (planCache.size > 64) planCache.clear();
  planCache.set(markerKey, chosen.plan);
  return chosen.scanner;
}

/**
 * Each marker's window: with a sample, the one that occurs least in it (ties broken by the byte
 * frequency table); without, the rarest by that table. Then the buckets (see `assignBuckets`).
 */
function planFor(markers: readonly Buffer[], width: number, sample: Buffer | undefined): Plan {
  const windows = markers.map((m) => {
    if (!sample) return rarestWindow(m, width);
    let best = 0;
    let bestCount = Infinity;
    let bestScore = -1;
    for (let o = 0; o + width <= m.length; o++) {
      const w = m.subarray(o, o + width);
      let count = 0;
      for (let p = sample.indexOf(w); p >= 0 && count < 10_000; p = sample.indexOf(w, p + 1))
        count++;
      let score = 0;
      for (const b of w) score += rarity(b);
      if (count < bestCount || (count === bestCount && score > bestScore)) {
        best = o;
        bestCount = count;
        bestScore = score;
      }
    }
    return best;
  });
  return { width, windows, buckets: assignBuckets(markers, width, windows, sample) };
}

/** Bytes of the sample used to place windows in buckets (enough to be typical, fast to test). */
const BUCKET_SAMPLE = 8 * 1024;

/**
 * Puts markers in (at most 8) buckets. Markers with the same window share one. With more distinct
 * windows than buckets, windows must share: each bucket matches every combination of its
 * windows' nibbles, so a bad pairing (`gu` with `og` also matches `ge`, `ow`) floods the slow
 * path. With a sample, each window goes where it adds the fewest matches in the sample (greedy);
 * without, neighbours in sorted order share.
 */
function assignBuckets(
  markers: readonly Buffer[],
  width: number,
  windows: readonly number[],
  sample: Buffer | undefined,
): number[][] {
  const groups = new Map<string, number[]>();
  markers.forEach((m, i) => {
    const o = windows[i] ?? 0;
    const k = m.subarray(o, o + width).toString("latin1");
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const keys = [...groups.keys()].sort();
  const nb = Math.min(8, keys.length);
  if (keys.length <= 8 || !sample || width === 0) {
    const buckets: number[][] = Array.from({ length: nb }, () => []);
    keys.forEach((k, i) =>
      buckets[Math.floor((i * nb) / keys.length)]?.push(...(groups.get(k) ?? [])),
    );
    return buckets;
  }
  const text = sample.subarray(0, BUCKET_SAMPLE);
  // nibble masks per bucket and position: bit n set = nibble n accepted
  const lo = Array.from({ length: 8 }, () => new Array<number>(width).fill(0));
  const hi = Array.from({ length: 8 }, () => new Array<number>(width).fill(0));
  const members: number[][] = Array.from({ length: 8 }, () => []);
  // The sample's distinct windows with their counts (a few thousand): `matches` then tests each
  // once instead of every position of the sample.
  const distinct = new Map<number, number>();
  for (let p = 0; p + width <= text.length; p++) {
    let key = 0;
    for (let j = 0; j < width; j++) key = key * 256 + (text[p + j] as number);
    distinct.set(key, (distinct.get(key) ?? 0) + 1);
  }
  const windowKeys = Int32Array.from(distinct.keys());
  const windowCounts = Int32Array.from(distinct.values());
  // Per position of the window, which byte values a bucket's masks accept.
  const accept = new Uint8Array(width * 256);
  const matches = (loMask: readonly number[], hiMask: readonly number[]): number => {
    for (let j = 0; j < width; j++) {
      const l = loMask[j] ?? 0;
      const h = hiMask[j] ?? 0;
      for (let b = 0; b < 256; b++) accept[j * 256 + b] = (l >> (b & 15)) & (h >> (b >> 4)) & 1;
    }
    let n = 0;
    for (let i = 0; i < windowKeys.length; i++) {
      let key = windowKeys[i] as number;
      let ok = 1;
      for (let j = width - 1; j >= 0 && ok === 1; j--) {
        ok = accept[j * 256 + (key & 255)] as number;
        key >>>= 8;
      }
      if (ok === 1) n += windowCounts[i] as number;
    }
    return n;
  };
  const current = new Array<number>(8).fill(0);
  // most frequent windows first: they are the ones that must not be paired badly
  const keyCount = (k: string): number => matches(nibbleMask(k, "lo"), nibbleMask(k, "hi"));
  const ordered = keys
    .map((k) => ({ k, n: keyCount(k) }))
    .sort((a, b) => b.n - a.n || (a.k < b.k ? -1 : 1));
  for (const { k } of ordered) {
    let best = 0;
    let bestAdded = Infinity;
    for (let b = 0; b < 8; b++) {
      const l = (lo[b] as number[]).map((m, j) => m | (1 << ((k.charCodeAt(j) ?? 0) & 15)));
      const h = (hi[b] as number[]).map((m, j) => m | (1 << ((k.charCodeAt(j) ?? 0) >> 4)));
      const added = matches(l, h) - (current[b] ?? 0);
      if (added < bestAdded) {
        best = b;
        bestAdded = added;
      }
    }
    const l = lo[best] as number[];
    const h = hi[best] as number[];
    for (let j = 0; j < width; j++) {
      l[j] = (l[j] ?? 0) | (1 << (k.charCodeAt(j) & 15));
      h[j] = (h[j] ?? 0) | (1 << (k.charCodeAt(j) >> 4));
    }
    current[best] = matches(l, h);
    members[best]?.push(...(groups.get(k) ?? []));
  }
  return members.filter((m) => m.length > 0);
}

/** Per-position nibble masks of one window (a Latin-1 string of its bytes). */
function nibbleMask(window: string, part: "lo" | "hi"): number[] {
  return [...window].map((ch) => {
    const b = ch.charCodeAt(0);
    return 1 << (part === "lo" ? b & 15 : b >> 4);
  });
}

function wasmInstance(
  wasm: WasmApi,
  markers: readonly Buffer[],
  plan: Plan,
  place: Placement,
  maxLine: number,
  release: (scanner: MarkerScanner) => void,
): MarkerScanner {
  const layout = place.memory?.layout ?? scanLayout(place.capacity, 0, place.capacity);
  const key = [
    layout.pages,
    layout.capacity,
    layout.scratch,
    place.memory ? "shared" : "own",
    plan.width,
    plan.windows.join(","),
    plan.buckets.map((b) => b.join(",")).join(";"),
    ...markers.map((m) => m.toString("hex")),
  ].join("\0");
  let mod = moduleCache.get(key);
  if (!mod) {
    mod = new wasm.Module(buildTeddy(markers, plan, layout, place.memory !== undefined));
    if (moduleCache.size > 64) moduleCache.clear();
    moduleCache.set(key, mod);
  }
  const imports = place.memory ? { env: { mem: place.memory.memory } } : {};
  const exports = new wasm.Instance(mod, imports).exports as ScannerExports;
  const buffer = place.memory?.buffer ?? exports.mem.buffer;
  const memory = Buffer.from(buffer, 0, layout.scratch);
  const input = memory.subarray(0, layout.capacity + SLACK);
  const out = new Uint32Array(buffer, layout.out, layout.outEntries * 2);
  const counters = new Uint32Array(buffer, layout.counters, 3 + LONG_LINE_EXAMPLES);
  const scanRange = (start: number, end: number): number => {
    if (start < 0 || start > end || end - start > layout.maxRange || end + SLACK > layout.scratch) {
      throw new RangeError(`scan range ${start}..${end} out of range`);
    }
    return exports.scan(start, end, maxLine);
  };
  const scanner: MarkerScanner = {
    input,
    capacity: place.capacity,
    memory,
    engine: "wasm",
    scan: (end) => {
      if (end > place.capacity) throw new RangeError(`scan end ${end} out of range`);
      return scanRange(0, end);
    },
    scanRange,
    hitPos: (i) => out[2 * i] ?? -1,
    hitLine: (i) => out[2 * i + 1] ?? -1,
    newlines: () => counters[0] ?? 0,
    longLines: () => counters[1] ?? 0,
    longLine: (i) => (i < LONG_LINE_EXAMPLES ? (counters[2 + i] ?? -1) : -1),
    slowBlocks: () => counters[2 + LONG_LINE_EXAMPLES] ?? 0,
    release: () => release(scanner),
  };
  return scanner;
}

/**
 * A scanner's memory: the input area at 0 (`capacity` bytes and the slack), the caller's
 * `reserved` bytes, then the scanner's own areas from `scratch` on.
 */
export interface ScanLayout {
  readonly capacity: number;
  /** Start of the reserved bytes. */
  readonly reservedAt: number;
  /** Longest range one scan takes (sizes the hit list). */
  readonly maxRange: number;
  readonly scratch: number;
  /** u32: newlines, long lines, LONG_LINE_EXAMPLES long-line indexes, slow blocks. */
  readonly counters: number;
  readonly out: number;
  readonly outEntries: number;
  readonly pages: number;
}

function scanLayout(capacity: number, reserved: number, maxRange: number): ScanLayout {
  const reservedAt = align(capacity + SLACK, 64);
  const scratch = align(reservedAt + reserved, 16);
  const counters = scratch + 16;
  const out = align(counters + 4 * (3 + LONG_LINE_EXAMPLES), 16);
  // A line holding a marker has at least 2 bytes (marker byte + `\n`), except the last one.
  const range = Math.max(capacity, maxRange);
  const outEntries = Math.floor(range / 2) + 2;
  const total = out + outEntries * 8;
  return {
    capacity,
    reservedAt,
    maxRange: range,
    scratch,
    counters,
    out,
    outEntries,
    pages: Math.ceil(total / 65536),
  };
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

// Minimal WebAssembly binary encoder: just what the scanner needs.
const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;
const VOID = 0x40;
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load8U: 0x2d,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Ne: 0x47,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Clz: 0x67,
  i32Ctz: 0x68,
  i32Popcnt: 0x69,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32LeU: 0x4d,
  i64Const: 0x42,
  i64Eqz: 0x50,
  i64Clz: 0x79,
  i64Ctz: 0x7a,
  i64Popcnt: 0x7b,
  i64Or: 0x84,
  i64Shl: 0x86,
  i32WrapI64: 0xa7,
  i64ExtendI32U: 0xad,
} as const;

function u32(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function i32(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of a small non-negative constant (enough for shift counts). */
const i64 = (n: number): number[] => i32(n);

const vec = (items: readonly number[][]): number[] => [...u32(items.length), ...items.flat()];
const section = (id: number, body: readonly number[]): number[] => [
  id,
  ...u32(body.length),
  ...body,
];
const name = (s: string): number[] => vec([...Buffer.from(s, "utf8")].map((b) => [b]));
const simd = (op: number): number[] => [0xfd, ...u32(op)];
const v128Load = (offset: number): number[] => [...simd(0x00), 0, ...u32(offset)];
const v128Store = (offset: number): number[] => [...simd(0x0b), 0, ...u32(offset)];
const v128Const = (lanes: readonly number[]): number[] => [...simd(0x0c), ...lanes];
const SWIZZLE = simd(0x0e);
const I8X16_EQ = simd(0x23);
const V128_AND = simd(0x4e);
const V128_OR = simd(0x50);
const ANY_TRUE = simd(0x53);
const BITMASK = simd(0x64);
const I16X8_SHR_U = simd(0x8d);

/**
 * Bytes of log text from most to least frequent (measured over the public ESXi and vCenter samples
 * the tests use). A marker is found through its rarest three-byte window.
 */
const BY_FREQUENCY = " eotsrnia-:cdv.mlupf[]gTh\nIb=S/\"VAxOECZ,yP>LRHG<M'D)(wFUN@_q+kB\\#WzXK{";
/** Structural bytes present on nearly every log line, whatever the sample says. */
const STRUCTURAL = " []=:0123456789";

function rarity(byte: number): number {
  const ch = String.fromCharCode(byte);
  if (STRUCTURAL.includes(ch)) return 0;
  const i = BY_FREQUENCY.indexOf(ch);
  return i < 0 ? 100 : i;
}

/** Offset of the rarest `width`-byte window of a marker (earliest on ties). */
function rarestWindow(marker: Buffer, width: number): number {
  let best = 0;
  let bestScore = -1;
  for (let o = 0; o + width <= marker.length; o++) {
    let score = 0;
    for (let j = 0; j < width; j++) score += rarity(marker[o + j] ?? 0);
    if (score > bestScore) {
      best = o;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Builds the scanner module. Export `scan(start, end, maxLine) -> hits`; memory layout from
 * `scanLayout`, its own (exported as `mem`) or, `shared`, imported as `env.mem`.
 *
 * Teddy: every marker is represented by a window of F (<= 3) bytes, its rarest; markers are put
 * in up to 8 buckets. For a 16-byte block at `base`, the bytes at `base+j` (j < F) are split into
 * nibbles and looked up in two tables whose bits are buckets; AND-ing over j leaves, in lane i,
 * the buckets with a marker whose window may start at `base+i`. Such candidates are verified
 * byte by byte. `\n` lanes are counted in the same pass (bitmask + popcount), with the line
 * index of each hit and the lines longer than `maxLine`.
 *
 * The main loop takes 64 bytes at a time and only drops to the 16-byte path (the one that
 * verifies candidates) for groups with a candidate, and for the tail.
 */
function buildTeddy(
  markers: readonly Buffer[],
  plan: Plan,
  layout: ScanLayout,
  shared: boolean,
): Uint8Array {
  const { width: F, windows, buckets } = plan;
  const lo = Array.from({ length: F }, () => new Array<number>(16).fill(0));
  const hi = Array.from({ length: F }, () => new Array<number>(16).fill(0));
  const mark = (table: number[] | undefined, index: number, bit: number): void => {
    if (table) table[index] = (table[index] ?? 0) | bit;
  };
  buckets.forEach((members, b) => {
    for (const mi of members) {
      const m = markers[mi] as Buffer;
      const o = windows[mi] ?? 0;
      for (let j = 0; j < F; j++) {
        const byte = m[o + j] ?? 0;
        mark(lo[j], byte & 15, 1 << b);
        mark(hi[j], byte >> 4, 1 << b);
      }
    }
  });

  // Locals: 0 = start, 1 = end, 2 = maxLine (params); i32 locals; i64; v128 locals after.
  const L = {
    start: 0,
    end: 1,
    maxLine: 2,
    base: 3,
    nlmask: 4,
    nlBefore: 5,
    cmask: 6,
    bit: 7,
    p: 8,
    lineIdx: 9,
    lastLine: 10,
    nHits: 11,
    bits: 12,
    lastNl: 13,
    nLong: 14,
    first: 15,
    slow: 16,
  };
  const nI32 = 14;
  const X = { nl64: 17 };
  const nI64 = 1;
  const V = {
    m0f: 18,
    nl: 19,
    res: 20,
    acc: 21,
    tmp: 22,
    lo: (j: number) => 23 + j,
    hi: (j: number) => 23 + F + j,
  };
  const nV128 = 5 + 2 * F;

  const code: number[] = [];
  const emit = (...parts: (number | number[])[]): void => {
    for (const p of parts) {
      if (typeof p === "number") code.push(p);
      else for (const b of p) code.push(b);
    }
  };
  const get = (l: number): number[] => [OP.localGet, l];
  const set = (l: number): number[] => [OP.localSet, l];
  const tee = (l: number): number[] => [OP.localTee, l];
  const c = (n: number): number[] => [OP.i32Const, ...i32(n)];

  /** Pushes the Teddy result vector of the block at base + offset. */
  const teddyBlock = (offset: number): void => {
    for (let j = 0; j < F; j++) {
      emit(get(V.lo(j)), get(L.base), v128Load(offset + j), tee(V.tmp), get(V.m0f), V128_AND);
      emit(SWIZZLE, get(V.hi(j)), get(V.tmp), c(4), I16X8_SHR_U, get(V.m0f), V128_AND, SWIZZLE);
      emit(V128_AND);
      if (j > 0) emit(V128_AND);
    }
  };
  /** Pushes the i32 bitmask of `\n` lanes of the block at base + offset. */
  const nlBlock = (offset: number): void => {
    emit(get(L.base), v128Load(offset), get(V.nl), I8X16_EQ, BITMASK);
  };
  /** Long-line check for a group whose `\n` positions (relative to base) are first..last. */
  const longCheck = (firstRel: number[], lastRel: number[]): void => {
    emit(get(L.base), firstRel, OP.i32Add, tee(L.first), get(L.lastNl), OP.i32Sub, c(1));
    emit(OP.i32Sub, get(L.maxLine), OP.i32GtU, OP.if, VOID);
    emit(get(L.nLong), c(LONG_LINE_EXAMPLES), OP.i32LtU, OP.if, VOID);
    emit(get(L.nLong), c(2), OP.i32Shl, get(L.nlBefore), OP.i32Store, 2, u32(layout.counters + 8));
    emit(OP.end);
    emit(get(L.nLong), c(1), OP.i32Add, set(L.nLong));
    emit(OP.end);
    emit(get(L.base), lastRel, OP.i32Add, set(L.lastNl));
  };

  emit(v128Const(new Array<number>(16).fill(0x0f)), set(V.m0f));
  emit(v128Const(new Array<number>(16).fill(NL)), set(V.nl));
  for (let j = 0; j < F; j++) {
    emit(v128Const(lo[j] as number[]), set(V.lo(j)), v128Const(hi[j] as number[]), set(V.hi(j)));
  }
  emit(get(L.start), set(L.base), c(0), set(L.nlBefore), c(-1), set(L.lastLine));
  emit(c(0), set(L.nHits), get(L.start), c(1), OP.i32Sub, set(L.lastNl));
  emit(c(0), set(L.nLong), c(0), set(L.slow));
  emit(OP.block, VOID, OP.loop, VOID);
  emit(get(L.base), get(L.end), OP.i32GeU, OP.brIf, 1);

  // Fast path: a whole 64-byte group without a candidate.
  emit(get(L.base), c(64), OP.i32Add, get(L.end), OP.i32LeU, OP.if, VOID);
  {
    if (F > 0) {
      for (let k = 0; k < 4; k++) {
        teddyBlock(16 * k);
        if (k > 0) emit(V128_OR);
      }
      emit(ANY_TRUE, OP.i32Eqz);
    } else {
      emit(c(1));
    }
    emit(OP.if, VOID);
    {
      for (let k = 0; k < 4; k++) {
        nlBlock(16 * k);
        emit(OP.i64ExtendI32U);
        if (k > 0) emit(OP.i64Const, ...i64(16 * k), OP.i64Shl, OP.i64Or);
      }
      emit(tee(X.nl64), OP.i64Eqz, OP.i32Eqz, OP.if, VOID);
      longCheck(
        [OP.localGet, X.nl64, OP.i64Ctz, OP.i32WrapI64],
        [OP.i32Const, ...i32(63), OP.localGet, X.nl64, OP.i64Clz, OP.i32WrapI64, OP.i32Sub],
      );
      emit(get(L.nlBefore), get(X.nl64), OP.i64Popcnt, OP.i32WrapI64, OP.i32Add, set(L.nlBefore));
      emit(OP.end);
      emit(get(L.base), c(64), OP.i32Add, set(L.base), OP.br, 2); // continue the main loop
    }
    emit(OP.end);
  }
  emit(OP.end);

  // Slow path: one 16-byte block, candidates verified; the end of the range masked.
  emit(get(L.slow), c(1), OP.i32Add, set(L.slow));
  nlBlock(0);
  emit(set(L.nlmask));
  emit(get(L.base), c(16), OP.i32Add, get(L.end), OP.i32GtU, OP.if, VOID);
  emit(get(L.nlmask), c(1), get(L.end), get(L.base), OP.i32Sub, OP.i32Shl, c(1), OP.i32Sub);
  emit(OP.i32And, set(L.nlmask), OP.end);
  if (F > 0) {
    teddyBlock(0);
    emit(tee(V.res), ANY_TRUE, OP.if, VOID);
    {
      emit(c(0), get(V.res), v128Store(layout.scratch));
      // lanes with any bucket bit: not(eq(res, 0))
      emit(get(V.res), v128Const(new Array<number>(16).fill(0)), I8X16_EQ, BITMASK);
      emit(c(0xffff), OP.i32Xor, set(L.cmask));
      emit(OP.block, VOID, OP.loop, VOID);
      emit(get(L.cmask), OP.i32Eqz, OP.brIf, 1);
      emit(get(L.cmask), OP.i32Ctz, set(L.bit));
      emit(get(L.cmask), get(L.cmask), c(1), OP.i32Sub, OP.i32And, set(L.cmask));
      emit(get(L.bit), OP.i32Load8U, 0, u32(layout.scratch), set(L.bits));
      // line index of the candidate; skip when that line already has a hit
      emit(get(L.nlBefore), get(L.nlmask), c(1), get(L.bit), OP.i32Shl, c(1), OP.i32Sub, OP.i32And);
      emit(OP.i32Popcnt, OP.i32Add, tee(L.lineIdx), get(L.lastLine), OP.i32Ne, OP.if, VOID);
      emit(OP.block, VOID); // matched → falls out of this block to the record code
      buckets.forEach((members, b) => {
        emit(get(L.bits), c(1 << b), OP.i32And, OP.if, VOID);
        for (const mi of members) {
          const m = markers[mi] as Buffer;
          const o = windows[mi] ?? 0;
          emit(OP.block, VOID);
          // p = base + bit - o, which must be >= start and leave room for the marker before `end`
          emit(get(L.base), get(L.bit), OP.i32Add, tee(L.p), get(L.start), c(o), OP.i32Add);
          emit(OP.i32LtU, OP.brIf, 0);
          emit(get(L.p), c(o), OP.i32Sub, tee(L.p), c(m.length), OP.i32Add, get(L.end));
          emit(OP.i32GtU, OP.brIf, 0);
          for (let j = 0; j < m.length; j++) {
            emit(get(L.p), OP.i32Load8U, 0, u32(j), c(m[j] as number), OP.i32Ne, OP.brIf, 0);
          }
          emit(OP.br, 2); // to the end of the "matched" block
          emit(OP.end);
        }
        emit(OP.end);
      });
      emit(OP.br, 2); // no marker matched: next candidate (loop is 2 levels up: if, loop)
      emit(OP.end);
      // record the hit
      emit(get(L.nHits), c(3), OP.i32Shl, get(L.p), OP.i32Store, 2, u32(layout.out));
      emit(get(L.nHits), c(3), OP.i32Shl, get(L.lineIdx), OP.i32Store, 2, u32(layout.out + 4));
      emit(get(L.nHits), c(1), OP.i32Add, set(L.nHits), get(L.lineIdx), set(L.lastLine));
      emit(OP.end); // if new line
      emit(OP.br, 0, OP.end, OP.end); // candidate loop
    }
    emit(OP.end); // any_true
  }
  // Long lines: only the first `\n` of a block can end a line longer than 16 bytes.
  emit(get(L.nlmask), OP.if, VOID);
  longCheck(
    [OP.localGet, L.nlmask, OP.i32Ctz],
    [OP.i32Const, ...i32(31), OP.localGet, L.nlmask, OP.i32Clz, OP.i32Sub],
  );
  emit(get(L.nlBefore), get(L.nlmask), OP.i32Popcnt, OP.i32Add, set(L.nlBefore));
  emit(OP.end);
  emit(get(L.base), c(16), OP.i32Add, set(L.base), OP.br, 0);
  emit(OP.end, OP.end);
  emit(c(layout.counters), get(L.nlBefore), OP.i32Store, 2, 0);
  emit(c(layout.counters), get(L.nLong), OP.i32Store, 2, 4);
  emit(c(layout.counters), get(L.slow), OP.i32Store, 2, u32(8 + 4 * LONG_LINE_EXAMPLES));
  emit(get(L.nHits), OP.end);

  const locals = vec([
    [...u32(nI32), I32],
    [...u32(nI64), I64],
    [...u32(nV128), V128],
  ]);
  const body = [...locals, ...code];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])]])),
    // shared memory: limits flag 3 = shared, with a maximum
    ...(shared
      ? section(
          2,
          vec([
            [
              ...name("env"),
              ...name("mem"),
              0x02,
              0x03,
              ...u32(layout.pages),
              ...u32(layout.pages),
            ],
          ]),
        )
      : []),
    ...section(3, vec([[0]])),
    ...(shared ? [] : section(5, vec([[0x00, ...u32(layout.pages)]]))),
    ...section(
      7,
      vec([[...name("scan"), 0x00, 0], ...(shared ? [] : [[...name("mem"), 0x02, 0]])]),
    ),
    ...section(10, vec([[...u32(body.length), ...body]])),
  ];
  return new Uint8Array(bytes);
}
