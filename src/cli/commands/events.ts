/**
 * `guestops events PATH... [--format table|ndjson|json|csv] [--out FILE] [--since T] [--until T]
 * [--account A] [--vm V] [--host H] [--method M] [--input-format NAME] [--assume-tz ZONE]`:
 * reads every input, joins the sightings into one attributed operation per guest-operation call
 * (docs/attribution.md) and prints them (docs/output.md). The run's context (version, inputs with
 * SHA-256, zone, counts) and the attribution summary go to stderr, or into the document with
 * `--format json`. Exit 0; 2 for a usage error or an unreadable path.
 */
import { accountMatches, hostKey } from "../../attribute/identity.js";
import type { ReadSummary } from "../../ingest/summary.js";
import { lookupMethod } from "../../model/catalog.js";
import type { Operation, Principal } from "../../model/operation.js";
import { skippedOf } from "../../report/inputs.js";
import {
  EVIDENCE_PROFILES,
  isEvidenceProfile,
  isOperationFormat,
  OPERATION_FORMATS,
  operationWriter,
  summaryText,
  type EventsContext,
} from "../../report/operations.js";
import { GuestOpsError } from "../../shared/errors.js";
import { globMatch } from "../../shared/glob.js";
import { DEFAULT_ZONE, isValidZone } from "../../shared/zone.js";
import { VERSION } from "../../version.js";
import {
  addOutputOptions,
  choiceOption,
  pathsOrStdin,
  withOutput,
  type OutputCliOptions,
} from "../conventions.js";
import { writeOutput } from "../output.js";
import { progressFor, type Display } from "../terminal.js";
import { AccountTally, bareAccountMatches, filteredToNothing } from "../filters.js";
import { parseTimeBound } from "../time-bound.js";
import { addReadOptions, readOptionsOf, type ReadCliOptions } from "../read-options.js";
import { addStoreOption, storePathOf, type StoreCliOptions } from "../store-option.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface EventsOptions extends ReadCliOptions, StoreCliOptions, OutputCliOptions {
  readonly display?: Display;
  readonly evidence?: string;
  readonly since?: string;
  readonly until?: string;
  readonly account?: string;
  readonly vm?: string;
  readonly host?: string;
  readonly method?: string;
}

export const eventsCommand = defineCommand({
  name: "events",
  register(program, io, done) {
    const command = addStoreOption(
      addReadOptions(program.command("events")),
      "ingest into this store first, then list every stored operation (docs/store.md)",
    )
      .description(
        "List guest operations, one per API call, with who made them and how sure guestops is",
      )
      .argument(
        "[paths...]",
        "files, directories, .gz/.tgz/.zip archives; - (or none, when piped) for standard input",
      )
      .option(
        "--since <time>",
        "only operations at or after this time (ISO 8601 with zone, or a date)",
      )
      .option(
        "--until <time>",
        "only operations before this time (a date: up to the end of that day)",
      )
      .option(
        "--account <account>",
        "only operations of this account (DOMAIN\\user, user@domain, globs)",
      )
      .option("--vm <vm>", "only operations on this VM (name, .vmx path, folder or moref; globs)")
      .option(
        "--host <host>",
        "only operations on this ESXi host (any spelling of its name; globs)",
      )
      .option(
        "--method <method>",
        "only this method (any spelling) or category (execute, query, ...)",
      )
      .addOption(
        choiceOption(
          "--evidence <profile>",
          "evidence in ndjson/json: compact (file, line, SHA-256, the operation's own lines) or full (every session line too)",
          EVIDENCE_PROFILES,
        ),
      );
    addOutputOptions(command, OPERATION_FORMATS, "operations").action(
      async (paths: string[], options: EventsOptions) => {
        done(
          await withOutput(options, OPERATION_FORMATS, io, (format, display, runIo) =>
            events(pathsOrStdin(paths, io), { ...options, format, display }, runIo),
          ),
        );
      },
    );
  },
});

/** A filter on operations, with the text it was given (for the run's context). */
interface Filters {
  readonly given: Record<string, string>;
  readonly test: (op: Operation) => boolean;
}

const usage = (message: string, hint?: string): GuestOpsError =>
  new GuestOpsError("ERR_USAGE", message, hint ? { hint } : {});

const CATEGORIES = new Set(["execute", "query", "modify", "auth", "alias", "registry", "unknown"]);

export function buildFilters(options: EventsOptions, zone: string): Filters {
  const given: Record<string, string> = {};
  const tests: ((op: Operation) => boolean)[] = [];
  if (options.since !== undefined) {
    const since = parseTimeBound(options.since, zone, "since");
    given["since"] = new Date(since).toISOString();
    // an operation without a time cannot be placed in a range: left out (and counted), as scan does
    tests.push((op) => op.time !== undefined && Date.parse(op.time) >= since);
  }
  if (options.until !== undefined) {
    const until = parseTimeBound(options.until, zone, "until");
    given["until"] = new Date(until).toISOString();
    tests.push((op) => op.time !== undefined && Date.parse(op.time) < until);
  }
  if (given["since"] !== undefined && given["until"] !== undefined) {
    if (Date.parse(given["until"]) <= Date.parse(given["since"])) {
      throw usage(
        `--until ${options.until ?? ""} is not later than --since ${options.since ?? ""}`,
        "--since is the start of the range and --until its end: swap them.",
      );
    }
  }
  if (options.account !== undefined) {
    const pattern = options.account;
    given["account"] = pattern;
    tests.push((op) => {
      const a = op.attribution;
      const matches = (p: Principal): boolean =>
        accountMatches(p, pattern) || bareAccountMatches(p, pattern);
      if (a.principal && matches(a.principal)) return true;
      return (a.candidates ?? []).some(matches);
    });
  }
  if (options.vm !== undefined) {
    const pattern = options.vm;
    given["vm"] = pattern;
    tests.push((op) =>
      [op.vm.name, op.vm.vmx, op.vm.dir, op.vm.dir?.split("/").pop(), op.vm.moref].some(
        (v) => v !== undefined && globMatch(pattern, v),
      ),
    );
  }
  if (options.host !== undefined) {
    const wanted = options.host;
    given["host"] = wanted;
    tests.push(
      (op) =>
        op.host !== undefined &&
        (hostKey(op.host) === hostKey(wanted) || globMatch(wanted, op.host)),
    );
  }
  if (options.method !== undefined) {
    const m = options.method.trim();
    given["method"] = m;
    const api = lookupMethod(m)?.api;
    const category = m.toLowerCase();
    if (!api && !CATEGORIES.has(category)) {
      throw usage(
        `--method ${m} is neither a guest-operation method nor a category`,
        "Use an API name (StartProgramInGuest), a log spelling (Start Program) or a category (execute, query, modify, auth, alias, registry).",
      );
    }
    tests.push((op) => (api ? op.api === api : op.category === category));
  }
  return { given, test: (op) => tests.every((t) => t(op)) };
}

function contextOf(
  read: ReadSummary,
  options: { assumeTz: string; filters: Record<string, string> },
  counts: EventsContext["counts"],
): EventsContext {
  const formats: Record<string, number> = {};
  const inputs: EventsContext["inputs"][number][] = [];
  for (const s of read.inputs) {
    if (s.status === "archive") continue;
    const format =
      s.status === "read"
        ? (s.source.format ?? "unknown")
        : s.status === "unknown_format"
          ? "unknown"
          : s.status;
    formats[format] = (formats[format] ?? 0) + 1;
    inputs.push({
      path: s.source.path,
      ...(s.source.member !== undefined ? { member: s.source.member } : {}),
      sha256: s.source.sha256,
      format,
      records: s.records,
    });
  }
  const issues: Record<string, number> = {};
  for (const [code, n] of Object.entries(read.totals.issues)) if (n) issues[code] = n;
  return {
    tool: { name: "guestops", version: VERSION },
    assumeTz: options.assumeTz,
    filters: options.filters,
    inputs,
    formats,
    issues,
    ...(read.totals.membersSkipped + read.totals.entriesSkipped > 0
      ? { skipped: skippedOf(read.totals) }
      : {}),
    counts,
  };
}

export async function events(
  paths: readonly string[],
  options: EventsOptions,
  io: Io,
): Promise<ExitCode> {
  const format = options.format ?? "table";
  if (!isOperationFormat(format)) throw usage(`unknown format ${format}`);
  const assumeTz = options.assumeTz ?? DEFAULT_ZONE;
  if (!isValidZone(assumeTz)) {
    throw usage(
      `--assume-tz ${assumeTz} is not an IANA time zone`,
      "For example UTC, Europe/Paris.",
    );
  }
  const filters = buildFilters(options, assumeTz);
  // The reading and attribution code loads only when the command runs.
  const [{ attributeInputs }, { SummaryBuilder }] = await Promise.all([
    import("../../pipeline.js"),
    import("../../attribute/summary.js"),
  ]);
  const progress = progressFor(io);
  const attributeOptions = {
    paths,
    ...readOptionsOf(options),
    assumeTz,
    stdin: io.stdin,
    cwd: io.cwd,
    readInWorker: true,
    ...(progress ? { onProgress: progress.update } : {}),
  };
  const db = storePathOf(options, io);
  const builder = new SummaryBuilder();
  const seen = new AccountTally(filters.given["account"] !== undefined);
  let selectedCount = 0;
  let summary: ReturnType<typeof builder.result> | undefined;
  let context: EventsContext | undefined;
  await writeOutput(
    io,
    {
      out: options.out,
      finalNewline: false,
    },
    async (sink) => {
      // operations are written as attribution releases them, filtered, and then dropped
      const writer = operationWriter(format, sink, {
        ...(options.display ? { display: options.display } : {}),
        evidence: isEvidenceProfile(options.evidence) ? options.evidence : "compact",
      });
      let kept = 0;
      const take = (operations: readonly Operation[]): Promise<void> => {
        for (const op of operations) seen.add(op);
        const selected = operations.filter(filters.test);
        kept += selected.length;
        for (const op of selected) builder.add(op);
        return writer.write(selected);
      };
      const {
        read,
        correlated: result,
        records,
      } = db !== undefined
        ? await (
            await import("../../store/answer.js")
          ).attributeWithStore(db, { ...attributeOptions, onOperations: take })
        : await attributeInputs({ ...attributeOptions, onOperations: take });
      progress?.finish("");
      for (const u of result.unattached) builder.unattached(u);
      summary = builder.result();
      context = contextOf(
        read,
        { assumeTz, filters: filters.given },
        {
          records: read.totals.records,
          observations: records.observations,
          sessionRecords: records.sessions,
          duplicateObservations: result.observations.duplicates,
          operations: (selectedCount = kept),
          filteredOut: seen.operations - kept,
        },
      );
      await writer.end({ summary, context });
    },
  );
  if (!summary || !context) return EXIT.ERROR; // unreachable: writeOutput ran the writer or threw
  if (format !== "json" || options.out !== undefined) {
    io.stderr(
      summaryText(summary, context, { verbose: options.verbose === true }).replace(/\n$/, ""),
    );
  }
  const none = filteredToNothing(filters.given, seen, selectedCount);
  if (none !== undefined) io.stderr(none);
  return EXIT.OK;
}
