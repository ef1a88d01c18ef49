/**
 * Builders for test archives, in memory: gzip (one or many members), tar (tar-stream's packer) and
 * zip (a small writer: stored or deflated members, sizes in the header or in a data descriptor).
 */
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import * as tarStream from "tar-stream";

export const gzip = (...members: (string | Buffer)[]): Buffer =>
  Buffer.concat(members.map((m) => gzipSync(m)));

export interface FileSpec {
  readonly name: string;
  readonly data: string | Buffer;
  readonly mtime?: Date;
  /** tar: an entry that is not a regular file (its `data` is then ignored). */
  readonly type?: "symlink" | "link" | "character-device" | "block-device" | "fifo" | "directory";
  /** tar: the target of a symlink or hard link. */
  readonly linkname?: string;
}

export async function tar(files: readonly FileSpec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const out: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) out.push(chunk as Buffer);
  })();
  for (const f of files) {
    const mtime = f.mtime ?? new Date(Date.UTC(2024, 5, 4));
    if (f.type !== undefined) {
      pack.entry({
        name: f.name,
        type: f.type,
        mtime,
        size: 0,
        ...(f.linkname !== undefined ? { linkname: f.linkname } : {}),
      });
      continue;
    }
    const data = typeof f.data === "string" ? Buffer.from(f.data) : f.data;
    pack.entry({ name: f.name, size: data.length, mtime }, data);
  }
  pack.finalize();
  await collected;
  return Buffer.concat(out);
}

export interface ZipOptions {
  readonly method?: "store" | "deflate";
  /** Write sizes in a data descriptor after the data (as streaming writers do). */
  readonly descriptor?: boolean;
  /** Members flagged as encrypted (the data itself is left as is). */
  readonly encrypted?: readonly string[];
  /** Members whose stored CRC-32 (header, descriptor, central directory) is wrong. */
  readonly badCrc?: readonly string[];
  /** Members marked as Unix symbolic links (made on Unix, mode 0120777). */
  readonly symlinks?: readonly string[];
  /** Central-directory entries in reverse order of their members. */
  readonly reverseDirectory?: boolean;
}

export function zip(files: readonly FileSpec[], options: ZipOptions = {}): Buffer {
  const method = options.method === "store" ? 0 : 8;
  const baseFlags = 0x0800 | (options.descriptor ? 0x08 : 0);
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const data = typeof f.data === "string" ? Buffer.from(f.data) : f.data;
    const body = method === 8 ? deflateRawSync(data) : data;
    const flags = baseFlags | (options.encrypted?.includes(f.name) ? 0x01 : 0);
    const name = Buffer.from(f.name, "utf8");
    const crc = (crc32(data) ^ (options.badCrc?.includes(f.name) ? 1 : 0)) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE((44 << 9) | (6 << 5) | 4, 12); // 2024-06-04
    local.writeUInt32LE(options.descriptor ? 0 : crc, 14);
    local.writeUInt32LE(options.descriptor ? 0 : body.length, 18);
    local.writeUInt32LE(options.descriptor ? 0 : data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    parts.push(local, name, body);
    let size = local.length + name.length + body.length;
    if (options.descriptor) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc, 4);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(data.length, 12);
      parts.push(d);
      size += d.length;
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    const symlink = options.symlinks?.includes(f.name) === true;
    c.writeUInt16LE(symlink ? (3 << 8) | 20 : 20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE((44 << 9) | (6 << 5) | 4, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(name.length, 28);
    if (symlink) c.writeUInt32LE((0o120777 << 16) >>> 0, 38);
    c.writeUInt32LE(offset, 42);
    if (options.reverseDirectory) central.unshift(c, name);
    else central.push(c, name);
    offset += size;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

/**
 * A zip bomb's construction: one stored member, and a central directory that lists it under its
 * own name and again under each of `aliases`, every entry pointing at the same bytes.
 */
export function zipOverlapping(member: FileSpec, aliases: readonly string[]): Buffer {
  const one = zip([member], { method: "store" });
  const cdSize = one.readUInt32LE(one.length - 22 + 12);
  const cdOffset = one.readUInt32LE(one.length - 22 + 16);
  const entry = one.subarray(cdOffset, cdOffset + cdSize);
  const entries = [entry];
  for (const alias of aliases) {
    const name = Buffer.from(alias, "utf8");
    const c = Buffer.from(entry.subarray(0, 46));
    c.writeUInt16LE(name.length, 28);
    entries.push(c, name);
  }
  const cd = Buffer.concat(entries);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1 + aliases.length, 8);
  end.writeUInt16LE(1 + aliases.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([one.subarray(0, cdOffset), cd, end]);
}
