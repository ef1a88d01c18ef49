/**
 * Streaming gunzip (all members of a multi-member file, as `gzip -c a b > c` or logrotate write
 * them). A truncated or corrupt stream ends the output where the damage starts: everything before
 * it is kept and the caller is told how far it got.
 */
import { createGunzip } from "node:zlib";
import { feed } from "./feed.js";

/** Output chunk size: large enough that per-chunk costs vanish, small enough to stay in cache. */
const CHUNK = 256 * 1024;

export interface GunzipFailure {
  /** Decompressed bytes produced before the failure. */
  readonly produced: number;
  /** `truncated` when the input ended inside a member; `corrupt` for bad data. */
  readonly kind: "truncated" | "corrupt";
  readonly message: string;
}

/**
 * Decompresses `source`. Never throws for bad data: `onFailure` is called once and the output
 * ends; the source is still read to its end.
 */
export async function* gunzip(
  source: AsyncIterable<Buffer>,
  onFailure: (failure: GunzipFailure) => void,
): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: CHUNK });
  let feedError: unknown;
  const feeding = feed(source, z).catch((error: unknown) => {
    feedError = error;
    z.destroy();
  });
  let produced = 0;
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) {
      produced += chunk.length;
      yield chunk;
    }
  } catch (error) {
    if (feedError === undefined) {
      const code = (error as NodeJS.ErrnoException).code;
      onFailure({
        produced,
        kind: code === "Z_BUF_ERROR" ? "truncated" : "corrupt",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  } finally {
    z.destroy();
    await feeding;
  }
  // the source itself failed (an I/O error)
  if (feedError !== undefined) throw asError(feedError);
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
