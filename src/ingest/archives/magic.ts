/**
 * Container detection by content (magic bytes), never by file name alone: a rotated `hostd.0`
 * may be gzip, a `.log` may be a tarball, and an attacker may name anything anything.
 */

/** Containers guestops opens, and the ones it recognises to say it does not. */
export type Container = "gzip" | "tar" | "zip" | "bzip2" | "xz" | "zstd" | "7z" | "rar";

/** Bytes of head `sniffContainer` needs to be sure (a tar header block). */
export const SNIFF_BYTES = 512;

const startsWith = (head: Buffer, bytes: readonly number[]): boolean =>
  head.length >= bytes.length && bytes.every((b, i) => head[i] === b);

/**
 * The container `head` (the first bytes of an input) belongs to, or undefined for anything else
 * (text, JSON, binary garbage). `head` should hold at least {@link SNIFF_BYTES} bytes unless the
 * input is shorter.
 */
export function sniffContainer(head: Buffer): Container | undefined {
  if (startsWith(head, [0x1f, 0x8b])) return "gzip";
  if (
    startsWith(head, [0x50, 0x4b, 0x03, 0x04]) ||
    startsWith(head, [0x50, 0x4b, 0x05, 0x06]) ||
    startsWith(head, [0x50, 0x4b, 0x07, 0x08])
  ) {
    return "zip";
  }
  if (startsWith(head, [0x42, 0x5a, 0x68])) return "bzip2";
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz";
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return "7z";
  if (startsWith(head, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07])) return "rar";
  if (isTarHeader(head)) return "tar";
  return undefined;
}

/**
 * A valid tar header block: `ustar` magic, or (old v7 archives) a correct header checksum. The
 * checksum is the sum of the 512 header bytes with the checksum field read as spaces.
 */
export function isTarHeader(head: Buffer): boolean {
  if (head.length < 512) return false;
  if (head.toString("latin1", 257, 262) === "ustar") return true;
  if (head[0] === 0) return false; // no name
  const field = head
    .toString("latin1", 148, 156)
    .replace(/[\0 ]+$/, "")
    .trim();
  if (!/^[0-7]{1,7}$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (head[i] ?? 0);
  return sum === parseInt(field, 8);
}
