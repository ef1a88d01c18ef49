/**
 * Streaming tar reader (ustar, GNU and PAX names) over tar-stream: members come one after the
 * other as byte streams, nothing is written to disk. A truncated archive ends the listing where
 * the data stops; the member being read then simply ends early.
 */
import * as tarStream from "tar-stream";
import { feed, type WritableLike } from "./feed.js";

export interface ArchiveMember {
  /** Path inside the archive, as stored (attacker-controlled: only ever used as a label). */
  readonly name: string;
  readonly size?: number;
  /** Modification time (ISO 8601), when stored. */
  readonly mtime?: string;
  /**
   * The member's bytes. A body never iterated is skipped without being decoded; one that is
   * iterated must be read to its end before the next member is requested (or the listing left).
   */
  readonly body: AsyncIterable<Buffer>;
}

/**
 * Members that are not regular files: never read (a link's target or a device's contents are not
 * the archive's data), but counted, each with its kind. Directories are not members.
 */
export type SkippedKind = "symlink" | "hardlink" | "character-device" | "block-device" | "fifo";

/** A member that is listed but not read, and why (the member filter counts the others). */
export type OnSkipped = (member: string, kind: SkippedKind) => void;

const SKIPPED_KINDS: ReadonlyMap<string, SkippedKind> = new Map([
  ["symlink", "symlink"],
  ["link", "hardlink"],
  ["character-device", "character-device"],
  ["block-device", "block-device"],
  ["fifo", "fifo"],
]);

/**
 * The regular-file members of a tar stream. Never throws for bad data: `onFailure` is called with
 * the error message (and the member being read, if any) and the listing ends. Links, devices and
 * FIFOs go to `onSkipped`; directories and PAX/GNU metadata entries are not members.
 */
export async function* tarMembers(
  source: AsyncIterable<Buffer>,
  onFailure: (message: string, member: string | undefined) => void,
  onSkipped: OnSkipped = () => undefined,
): AsyncGenerator<ArchiveMember> {
  const extract = tarStream.extract();
  let feedError: unknown;
  const feeding = feed(source, extract as unknown as WritableLike).catch((error: unknown) => {
    feedError = error;
    extract.destroy();
  });
  let current: string | undefined;
  let failed = false;
  const fail = (error: unknown): void => {
    if (failed || feedError !== undefined) return;
    failed = true;
    onFailure(error instanceof Error ? error.message : String(error), current);
  };
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const type = header.type ?? "file";
      if (type !== "file" && type !== "contiguous-file") {
        const skipped = SKIPPED_KINDS.get(type);
        if (skipped) onSkipped(header.name, skipped);
        entry.resume();
        continue;
      }
      current = header.name;
      let ended = false;
      const body = async function* (): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of entry as AsyncIterable<Buffer>) yield chunk;
        } catch (error) {
          fail(error);
        } finally {
          ended = true;
        }
      };
      yield {
        name: header.name,
        ...(header.size !== undefined ? { size: header.size } : {}),
        ...(header.mtime && Number.isFinite(header.mtime.getTime())
          ? { mtime: header.mtime.toISOString() }
          : {}),
        body: body(),
      };
      if (!ended) entry.resume(); // the consumer skipped the member
      current = undefined;
    }
  } catch (error) {
    fail(error);
  } finally {
    extract.destroy();
    await feeding;
  }
  if (feedError !== undefined) throw asError(feedError);
}

const asError = (e: unknown): Error =>
  e instanceof Error ? e : new Error("tar source failed", { cause: e });
