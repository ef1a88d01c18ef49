/**
 * Syslog over a byte stream (TCP, TLS): RFC 6587 framing, decided at each frame's first byte as
 * rsyslog does, so one connection may use either: a digit starts an octet-counted frame
 * (`LEN SP MSG`, RFC 5425/6587 §3.4.1), anything else a newline-terminated one (non-transparent
 * framing, §3.4.2; a CR before the LF is dropped).
 *
 * Limits: a length prefix has at most 6 digits and is checked against the frame cap before any
 * byte of the frame is kept; an octet-counted frame over the cap, or a malformed prefix, is fatal
 * for the connection (the stream cannot be resynchronised safely). A newline frame over the cap is
 * dropped and the bytes up to the next LF skipped. Frames holding NUL bytes are dropped as binary.
 * Memory per connection is bounded by the cap.
 */
import type { DropReason } from "./counters.js";

export interface FrameSink {
  readonly frame: (bytes: Buffer) => void;
  readonly drop: (reason: DropReason) => void;
  /** The connection must be closed (framing cannot continue). */
  readonly fatal: (reason: DropReason) => void;
}

const MAX_DIGITS = 6;

export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  /** Octet-counted frame being read: its length; -1 when between frames or in a newline frame. */
  #want = -1;
  /** Skipping an oversized newline frame up to its LF. */
  #skipping = false;
  #dead = false;

  constructor(
    private readonly maxFrame: number,
    private readonly sink: FrameSink,
  ) {}

  push(chunk: Buffer): void {
    if (this.#dead) return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      if (this.#dead || !this.step()) break;
    }
  }

  /** The stream ended: a trailing newline frame without its LF is still a frame. */
  end(): void {
    if (this.#dead) return;
    if (this.#want >= 0) {
      if (this.#buf.length > 0) this.sink.drop("truncated");
    } else if (!this.#skipping && this.#buf.length > 0) {
      this.emit(trimCr(this.#buf));
    }
    this.#buf = Buffer.alloc(0);
  }

  /** One step; false when more bytes are needed. */
  private step(): boolean {
    const buf = this.#buf;
    if (buf.length === 0) return false;
    if (this.#skipping) {
      const lf = buf.indexOf(0x0a);
      if (lf < 0) {
        this.#buf = Buffer.alloc(0);
        return false;
      }
      this.#skipping = false;
      this.#buf = buf.subarray(lf + 1);
      return true;
    }
    if (this.#want < 0) {
      const first = buf[0] ?? 0;
      if (first === 0x0a || first === 0x0d || first === 0x20) {
        this.#buf = buf.subarray(1); // blank separators between frames
        return true;
      }
      if (first >= 0x30 && first <= 0x39) {
        let i = 0;
        while (i < buf.length && i <= MAX_DIGITS && isDigit(buf[i] ?? 0)) i++;
        if (i > MAX_DIGITS) return this.die("bad-length");
        if (i === buf.length) return false; // more digits may come
        if (buf[i] !== 0x20) {
          // digits not followed by a space: not a length prefix but a newline frame's text
          return this.newline(buf);
        }
        const len = Number(buf.subarray(0, i).toString("latin1"));
        if (len > this.maxFrame) return this.die("oversize");
        if (len === 0) {
          this.#buf = buf.subarray(i + 1);
          return true;
        }
        this.#want = len;
        this.#buf = buf.subarray(i + 1);
        return true;
      }
      return this.newline(buf);
    }
    if (buf.length < this.#want) {
      // keep a copy once the chunk is no longer the socket's own (it is reused by nobody in Node,
      // but a subarray would pin the whole chunk)
      return false;
    }
    const frame = buf.subarray(0, this.#want);
    this.#buf = buf.subarray(this.#want);
    this.#want = -1;
    this.emit(frame);
    return true;
  }

  private newline(buf: Buffer): boolean {
    const lf = buf.indexOf(0x0a);
    if (lf < 0) {
      if (buf.length > this.maxFrame) {
        this.sink.drop("oversize");
        this.#skipping = true;
        this.#buf = Buffer.alloc(0);
      }
      return false;
    }
    if (lf > this.maxFrame) {
      this.sink.drop("oversize");
    } else {
      this.emit(trimCr(buf.subarray(0, lf)));
    }
    this.#buf = buf.subarray(lf + 1);
    return true;
  }

  private emit(frame: Buffer): void {
    if (frame.length === 0) return;
    if (frame.includes(0)) {
      this.sink.drop("binary");
      return;
    }
    this.sink.frame(Buffer.from(frame)); // its own copy: the spool keeps it past this chunk
  }

  private die(reason: DropReason): boolean {
    this.#dead = true;
    this.#buf = Buffer.alloc(0);
    this.sink.fatal(reason);
    return false;
  }
}

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

const trimCr = (b: Buffer): Buffer => (b[b.length - 1] === 0x0d ? b.subarray(0, -1) : b);

/** A datagram's frame: one message, a trailing LF (and CR) removed. */
export function datagramFrame(msg: Buffer): Buffer {
  let end = msg.length;
  while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d)) end--;
  return msg.subarray(0, end);
}
