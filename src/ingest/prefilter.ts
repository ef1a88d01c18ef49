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
  /** `"wasm"` or `"js"`: which implementation runs. */
  readonly engine: "wasm" | "js";
  /**
   * Scans `input[0, end)`. Returns the number of lines that contain a marker (each line once);
   * `hitPos(i)` is the offset of a marker inside the i-th such line and `hitLine(i)` the number of
   * `\n` bytes before it. `newlines()` is the number of `\n` bytes in the range.
   */
  readonly scan: (end: number) => number;
  readonly hitPos: (i: number) => number;
  readonly hitLine: (i: number) => number;
  readonly newlines: () => number;
  /**
   * Complete lines (ended by `\n` inside the range) longer than `maxLineBytes` bytes (without the
   * `\n`) in the last scan, and the indexes of the first {@link LONG_LINE_EXAMPLES} of them.
   */
  readonly longLines: () => number;
  readonly longLine: (i: number) => number;
}

/** How many long-line indexes a scan keeps (the count is exact). */
export const LONG_LINE_EXAMPLES = 32;

const NL = 0x0a;
/** Bytes past `capacity` the vector loads may touch (3 loads of 16 bytes at offsets 0..2). */
const SLACK = 64;

/**
 * A scanner for `markers` (case-sensitive, UTF-8, non-empty, without `\n`). An empty marker list
 * only counts lines. `engine: "js"` forces the portable implementation.
 */
export function createMarkerScanner(
  markers: readonly string[],
  capacity: number,
  options: { engine?: "wasm" | "js"; maxLineBytes?: number } = {},
): MarkerScanner {
  const maxLine = options.maxLineBytes ?? capacity;
  for (const m of markers) {
    if (m.length === 0 || m.includes("\n")) {
      throw new TypeError(`invalid marker ${JSON.stringify(m)}: must be non-empty, without \\n`);
    }
  }
  const bytes = [...new Set(markers)].map((m) => Buffer.from(m, "utf8"));
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (options.engine !== "js" && wasm) {
    try {
      return wasmScanner(wasm, bytes, capacity, maxLine);
    } catch {
      // No SIMD support in this runtime: fall through to the portable scanner.
    }
  }
  return jsScanner(bytes, capacity, maxLine);
}

// --- portable implementation ---------------------------------------------------------------------

function jsScanner(markers: readonly Buffer[], capacity: number, maxLine: number): MarkerScanner {
  const input = Buffer.alloc(capacity + SLACK);
  let pos: number[] = [];
  let line: number[] = [];
  let long: number[] = [];
  let longCount = 0;
  let nl = 0;
  const scan = (end: number): number => {
    if (end > capacity || end < 0) throw new RangeError(`scan end ${end} out of range`);
    const hits: number[] = [];
    for (const m of markers) {
      let p = 0;
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
    let lineStart = 0;
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
  return {
    input,
    capacity,
    engine: "js",
    scan,
    hitPos: (i) => pos[i] ?? -1,
    hitLine: (i) => line[i] ?? -1,
    newlines: () => nl,
    longLines: () => longCount,
    longLine: (i) => long[i] ?? -1,
  };
}

// --- WebAssembly SIMD implementation -------------------------------------------------------------

/** The slice of the WebAssembly JS API used here (the DOM lib, which declares it, is not loaded). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
type WasmModule = object;
interface ScannerExports {
  readonly scan: (end: number, maxLine: number) => number;
  readonly mem: { readonly buffer: ArrayBuffer };
}

const moduleCache = new Map<string, WasmModule>();

function wasmScanner(
  wasm: WasmApi,
  markers: readonly Buffer[],
  capacity: number,
  maxLine: number,
): MarkerScanner {
  const layout = memoryLayout(capacity);
  const key = `${capacity}\0${markers.map((m) => m.toString("hex")).join("\0")}`;
  let mod = moduleCache.get(key);
  if (!mod) {
    mod = new wasm.Module(buildTeddy(markers, layout));
    if (moduleCache.size > 64) moduleCache.clear();
    moduleCache.set(key, mod);
  }
  const exports = new wasm.Instance(mod, {}).exports as ScannerExports;
  const buffer = exports.mem.buffer;
  const input = Buffer.from(buffer, 0, capacity + SLACK);
  const out = new Uint32Array(buffer, layout.out, layout.outEntries * 2);
  const counters = new Uint32Array(buffer, layout.counters, 2 + LONG_LINE_EXAMPLES);
  return {
    input,
    capacity,
    engine: "wasm",
    scan: (end) => {
      if (end > capacity || end < 0) throw new RangeError(`scan end ${end} out of range`);
      return exports.scan(end, maxLine);
    },
    hitPos: (i) => out[2 * i] ?? -1,
    hitLine: (i) => out[2 * i + 1] ?? -1,
    newlines: () => counters[0] ?? 0,
    longLines: () => counters[1] ?? 0,
    longLine: (i) => (i < LONG_LINE_EXAMPLES ? (counters[2 + i] ?? -1) : -1),
  };
}

interface Layout {
  readonly scratch: number;
  /** u32: newlines, long lines, then LONG_LINE_EXAMPLES long-line indexes. */
  readonly counters: number;
  readonly out: number;
  readonly outEntries: number;
  readonly pages: number;
}

function memoryLayout(capacity: number): Layout {
  const scratch = align(capacity + SLACK, 16);
  const counters = scratch + 16;
  const out = align(counters + 4 * (2 + LONG_LINE_EXAMPLES), 16);
  // A line holding a marker has at least 2 bytes (marker byte + `\n`), except the last one.
  const outEntries = Math.floor(capacity / 2) + 2;
  const total = out + outEntries * 8;
  return { scratch, counters, out, outEntries, pages: Math.ceil(total / 65536) };
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

// Minimal WebAssembly binary encoder: just what the scanner needs.
const I32 = 0x7f;
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
const ANY_TRUE = simd(0x53);
const BITMASK = simd(0x64);
const I16X8_SHR_U = simd(0x8d);

/**
 * Builds the scanner module. Export `scan(end) -> hits`; memory layout from `memoryLayout`.
 *
 * Per 16-byte block at `base`: `nlmask` = bitmask of `\n` lanes (lanes at or past `end` masked
 * off); Teddy: for j in 0..F-1, the bytes at `base+j` are split in nibbles and looked up in two
 * tables whose bits are marker buckets; AND-ing over j leaves, in lane i, the buckets whose
 * markers may start at `base+i`. Candidates are verified against every marker of their buckets.
 */
function buildTeddy(markers: readonly Buffer[], layout: Layout): Uint8Array {
  const F = markers.length === 0 ? 0 : Math.min(3, ...markers.map((m) => m.length));
  // Buckets: markers grouped by their first F bytes, neighbours (sorted) share a bucket.
  const groups = new Map<string, number[]>();
  markers.forEach((m, i) => {
    const k = m.subarray(0, F).toString("latin1");
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const keys = [...groups.keys()].sort();
  const nb = Math.min(8, keys.length);
  const buckets: number[][] = Array.from({ length: nb }, () => []);
  keys.forEach((k, i) =>
    buckets[Math.floor((i * nb) / keys.length)]?.push(...(groups.get(k) ?? [])),
  );
  const lo = Array.from({ length: F }, () => new Array<number>(16).fill(0));
  const hi = Array.from({ length: F }, () => new Array<number>(16).fill(0));
  const mark = (table: number[] | undefined, index: number, bit: number): void => {
    if (table) table[index] = (table[index] ?? 0) | bit;
  };
  buckets.forEach((members, b) => {
    for (const mi of members) {
      const m = markers[mi] as Buffer;
      for (let j = 0; j < F; j++) {
        const byte = m[j] ?? 0;
        mark(lo[j], byte & 15, 1 << b);
        mark(hi[j], byte >> 4, 1 << b);
      }
    }
  });

  // Locals: 0 = end, 1 = maxLine (params); i32 locals; v128 locals after.
  const L = {
    end: 0,
    maxLine: 1,
    base: 2,
    nlmask: 3,
    nlBefore: 4,
    cmask: 5,
    bit: 6,
    p: 7,
    lineIdx: 8,
    lastLine: 9,
    nHits: 10,
    bits: 11,
    lastNl: 12,
    nLong: 13,
  };
  const nI32 = 12;
  const V = { m0f: 14, nl: 15, res: 16, lo: (j: number) => 17 + j, hi: (j: number) => 17 + F + j };
  const nV128 = 3 + 2 * F;

  const code: number[] = [];
  const emit = (...parts: (number | number[])[]): void => {
    for (const p of parts) {
      if (typeof p === "number") code.push(p);
      else code.push(...p);
    }
  };
  const get = (l: number): number[] => [OP.localGet, l];
  const set = (l: number): number[] => [OP.localSet, l];
  const c = (n: number): number[] => [OP.i32Const, ...i32(n)];

  emit(v128Const(new Array<number>(16).fill(0x0f)), set(V.m0f));
  emit(v128Const(new Array<number>(16).fill(NL)), set(V.nl));
  for (let j = 0; j < F; j++) {
    emit(v128Const(lo[j] as number[]), set(V.lo(j)), v128Const(hi[j] as number[]), set(V.hi(j)));
  }
  emit(c(0), set(L.base), c(0), set(L.nlBefore), c(-1), set(L.lastLine), c(0), set(L.nHits));
  emit(c(-1), set(L.lastNl), c(0), set(L.nLong));
  emit(OP.block, VOID, OP.loop, VOID);
  emit(get(L.base), get(L.end), OP.i32GeU, OP.brIf, 1);
  // nlmask, masked to lanes below `end` on the last block
  emit(get(L.base), v128Load(0), get(V.nl), I8X16_EQ, BITMASK, set(L.nlmask));
  emit(get(L.base), c(16), OP.i32Add, get(L.end), OP.i32GtU, OP.if, VOID);
  emit(get(L.nlmask), c(1), get(L.end), get(L.base), OP.i32Sub, OP.i32Shl, c(1), OP.i32Sub);
  emit(OP.i32And, set(L.nlmask), OP.end);
  if (F > 0) {
    for (let j = 0; j < F; j++) {
      emit(
        get(V.lo(j)),
        get(L.base),
        v128Load(j),
        OP.localTee,
        V.res,
        get(V.m0f),
        V128_AND,
        SWIZZLE,
      );
      emit(get(V.hi(j)), get(V.res), c(4), I16X8_SHR_U, get(V.m0f), V128_AND, SWIZZLE, V128_AND);
      if (j > 0) emit(V128_AND);
    }
    emit(OP.localTee, V.res, ANY_TRUE, OP.if, VOID);
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
      emit(get(L.base), get(L.bit), OP.i32Add, set(L.p));
      // line index of p; skip when that line already has a hit
      emit(get(L.nlBefore), get(L.nlmask), c(1), get(L.bit), OP.i32Shl, c(1), OP.i32Sub, OP.i32And);
      emit(OP.i32Popcnt, OP.i32Add, OP.localTee, L.lineIdx, get(L.lastLine), OP.i32Ne, OP.if, VOID);
      emit(OP.block, VOID); // matched → falls out of this block to the record code
      buckets.forEach((members, b) => {
        emit(get(L.bits), c(1 << b), OP.i32And, OP.if, VOID);
        for (const mi of members) {
          const m = markers[mi] as Buffer;
          emit(OP.block, VOID);
          emit(get(L.p), c(m.length), OP.i32Add, get(L.end), OP.i32GtU, OP.brIf, 0);
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
  {
    emit(
      get(L.base),
      get(L.nlmask),
      OP.i32Ctz,
      OP.i32Add,
      get(L.lastNl),
      OP.i32Sub,
      c(1),
      OP.i32Sub,
    );
    emit(get(L.maxLine), OP.i32GtU, OP.if, VOID);
    emit(get(L.nLong), c(LONG_LINE_EXAMPLES), OP.i32LtU, OP.if, VOID);
    emit(get(L.nLong), c(2), OP.i32Shl, get(L.nlBefore), OP.i32Store, 2, u32(layout.counters + 8));
    emit(OP.end);
    emit(get(L.nLong), c(1), OP.i32Add, set(L.nLong));
    emit(OP.end);
    emit(get(L.base), c(31), get(L.nlmask), OP.i32Clz, OP.i32Sub, OP.i32Add, set(L.lastNl));
    emit(get(L.nlBefore), get(L.nlmask), OP.i32Popcnt, OP.i32Add, set(L.nlBefore));
  }
  emit(OP.end);
  emit(get(L.base), c(16), OP.i32Add, set(L.base), OP.br, 0);
  emit(OP.end, OP.end);
  emit(c(layout.counters), get(L.nlBefore), OP.i32Store, 2, 0);
  emit(c(layout.counters), get(L.nLong), OP.i32Store, 2, 4);
  emit(get(L.nHits), OP.end);

  const locals = vec([
    [...u32(nI32), I32],
    [...u32(nV128), V128],
  ]);
  const body = [...locals, ...code];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32]]), ...vec([[I32]])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...u32(layout.pages)]])),
    ...section(
      7,
      vec([
        [...name("scan"), 0x00, 0],
        [...name("mem"), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...u32(body.length), ...body]])),
  ];
  return new Uint8Array(bytes);
}
