/**
 * Canonical records: what every reader produces and every later stage (attribution, rules,
 * reports, a future live receiver) consumes. Readers never emit anything else.
 *
 * Conventions:
 * - `time` is ISO 8601 UTC with milliseconds (`2024-06-04T21:58:00.975Z`), or `undefined` when the
 *   source has no usable time (a redacted timestamp): such records are still emitted, and the
 *   reader also reports a `missing_time` issue.
 * - Strings copied from logs are kept as written (attacker-controlled): escape them on output.
 * - Optional fields are omitted, never set to `undefined` explicitly in JSON.
 */

/** Every input format guestops reads (one reader each). */
export type FormatName =
  | "hostd" // ESXi hostd.log, local file (all versions) or the same lines over syslog
  | "vmx" // per-VM vmware.log
  | "vpxd" // vCenter vpxd.log
  | "vc-events" // vCenter event syslog stream (`Event [key] [i-n] ...`)
  | "vc-events-json" // govc events -json, Get-VIEvent | ConvertTo-Json, EventEx objects
  | "esx-audit" // ESXi 8.0.3+ audit records (`api.call`, `vim.connect`)
  | "syslog" // a receiver file mixing programs and hosts; each line dispatched by program
  | "siem-json" // SIEM JSON exports with the syslog message in a field (`SyslogMessage`)
  | "vobd"; // ESXi vobd.log and vobd/vmsyslogd syslog lines: remote-logging failures, lost messages

/**
 * One input: a file, stdin, or a member of an archive. Mutable while it is read: `sha256` and
 * `format` are filled in as soon as they are known (the hash only when the outer file is read).
 */
export interface InputSource {
  /** Index of this input in the run (stable for a given argument order). */
  readonly id: number;
  /** The path as the user named it (or found under a named directory); `-` for stdin. */
  readonly path: string;
  /** Member path inside an archive (`esx-01.tgz` → `var/run/log/hostd.log`), nested with `!`. */
  readonly member?: string;
  /** SHA-256 (hex) of the outer file's bytes; empty until the whole file has been read. */
  sha256: string;
  /** Detected or forced format; `undefined` while unknown or when nothing matched. */
  format?: FormatName;
  /** Host name a bundle or path implies (`esx-01` from `esx-01-2024.tgz`), used when lines lack one. */
  hostHint?: string;
}

/** Where a record came from, byte-exact. */
export interface Provenance {
  readonly source: InputSource;
  /** First physical line (1-based) of the record within the (decompressed) input. */
  readonly line: number;
  /** Number of physical lines folded into this record (1 unless multi-line). */
  readonly lineCount: number;
  /** The record's raw text: its physical lines joined with "\n", exactly as read (no CR). */
  readonly raw: string;
  /** Set when the bytes were not valid UTF-8: `raw` is then base64 of the bytes. */
  readonly rawEncoding?: "base64";
}

/** How sure the reader is of the format the record came from (telemetry.md tags). */
export type Evidence = "verbatim" | "inferred";

export type Outcome = "success" | "failure" | "unknown";

/** How the source names a VM; any subset may be known. */
export interface VmRef {
  /** Display name (ambiguous, may contain spaces). */
  readonly name?: string;
  /** Datastore path of the .vmx (`/vmfs/volumes/<ds>/<dir>/<vm>.vmx`). */
  readonly vmx?: string;
  /** Managed object id (`vm-42` on vCenter, a number on ESXi), scoped to its vCenter/host. */
  readonly moref?: string;
  /** The VM's datastore directory (`/vmfs/volumes/<ds>/<dir>`): from a .vmx path or vmware.log's location. */
  readonly dir?: string;
}

/** What kind of line a guest-operation observation was read from. */
export type ObservationKind =
  | "hostd.event" // `Event N : Guest operation <Label> performed on Virtual machine <vm>.`
  | "hostd.state" // `State Transition (... -> VM_STATE_GUEST_OPERATION)` with vmx path, opID, user
  | "hostd.file-path" // `Guest File Path is <path>` (Guestsvc.GuestFileHandler)
  | "hostd.request" // `New request: target='vim.vm.guest.*', method='...'` (debug level)
  | "hostd.args" // Solo.Vmomi argument dump of a guest spec (program, arguments, guest user)
  | "hostd.fault" // Solo.Vmomi `Throw <fault>` / `Result:` dump following a guest call
  | "vmx.request" // vmware.log `Receiving GuestOps.<Op> request.`
  | "vmx.response" // vmware.log `Completed GuestOps[.<Op>] request[ with messages][ in N US].`
  | "vpxd.lro" // vpxd.log `[VpxLRO] -- BEGIN lro-N -- <moid> -- vim.vm.guest.* -- <session>`
  | "vpxd.lro-end" // vpxd.log `[VpxLRO] -- FINISH lro-N` of a guest LRO
  | "vpxd.lro-error" // vpxd.log `[VpxLRO] -- ERROR lro-N -- <moid> -- vim.vm.guest.*: <fault>` + dump
  | "vc.event" // vCenter GuestOperation event (syslog stream or JSON export)
  | "vc.auth-failure" // vCenter GuestOperationAuthFailure event
  | "vc.burst" // vCenter event-burst record: N guest operations hidden by the burst filter
  | "audit.api-call"; // ESXi audit record `api.call` on a vim.vm.guest.* object

/** What happened inside the guest (path, program, arguments, guest user), where a source logged it. */
export interface GuestDetails {
  readonly path?: string;
  readonly program?: string;
  readonly arguments?: string;
  readonly workingDirectory?: string;
  readonly username?: string;
}

/** One sighting of a guest operation in one source. Attribution joins sightings into operations. */
export interface Observation {
  readonly type: "observation";
  readonly kind: ObservationKind;
  readonly time: string | undefined;
  /** Year or zone of `time` was assumed (RFC 3164 without year/zone): see `--assume-tz`. */
  readonly timeAssumed?: boolean;
  /** Host as the source names it (syslog host, bundle host); not normalised. */
  readonly host?: string;
  /** vCenter the record came from or through, when known. */
  readonly vcenter?: string;
  readonly vm?: VmRef;
  /** The method as this source spells it (`Start Program`, `GuestOps.StartProgram`, ...). */
  readonly method?: string;
  /** Canonical API name from the catalog (`StartProgramInGuest`); absent when unknown. */
  readonly api?: string;
  readonly opId?: string;
  /** vmware.log per-VM sequence number. */
  readonly seq?: number;
  /** Session key or hostd `sid` as written. */
  readonly session?: string;
  /** Principal as written (`vpxuser:VSPHERE.LOCAL\admin`, `root`, `VSPHERE.LOCAL\Administrator`). */
  readonly user?: string;
  /**
   * The source names an account here but it could not be read (a vCenter event line whose
   * columns a hostile name garbled): `user` is absent, and attribution names no one else for the
   * operation with confidence.
   */
  readonly userUnreadable?: boolean;
  readonly outcome?: Outcome;
  /** Fault or error text (`vmodl.fault.SystemError`). */
  readonly fault?: string;
  /** What happened inside the guest, where logged. */
  readonly guest?: GuestDetails;
  /** Source-specific event key (hostd `Event 246`, vCenter event key, vpxd `lro-123`). */
  readonly eventKey?: string;
  /** vCenter event chain id. */
  readonly chainId?: string;
  /** Thread or process id of the writer (hostd tid/pid), to join multi-line dumps. */
  readonly thread?: string;
  /** Program that wrote the line (`hostd`, `vpxd`, `vmx`). */
  readonly process?: string;
  /** Duration reported by the source, in microseconds. */
  readonly durationUs?: number;
  /** `vc.burst`: how many operations the record stands for, when stated. */
  readonly count?: number;
  /**
   * A source-specific qualifier, as the source words it: vmware.log `with messages` (the guest
   * returned data or errors), the phase of a vCenter event burst (`started`, `compressed`, `ended`).
   */
  readonly detail?: string;
  /** The record's format is unconfirmed in public samples ([I] in telemetry.md). */
  readonly evidence: Evidence;
  readonly prov: Provenance;
}

export type SessionKind =
  | "login" // `User X@ip logged in as <agent>` (hostd or vCenter event)
  | "logout" // `User X@ip logged out (login time: ..., number of API invocations: N, user agent: ...)`
  | "password-accepted" // hostd `Accepted password for user X from ip - session=...`
  | "auth" // hostd/vpxd `[Auth]: User X` inside an opID
  | "connect" // ESXi audit `vim.connect`
  | "disconnect" // ESXi audit `vim.disconnect`
  | "login-failed"; // failed login (`Cannot login user@ip`, audit `vim.access.denied`)

/** A session fact: who logged in from where with which client, under which session/opID. */
export interface SessionRecord {
  readonly type: "session";
  readonly kind: SessionKind;
  readonly time: string | undefined;
  readonly timeAssumed?: boolean;
  readonly host?: string;
  readonly vcenter?: string;
  /** Account as written. */
  readonly user?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly session?: string;
  readonly opId?: string;
  readonly apiInvocations?: number;
  /** Login time as the logout line states it, as written. */
  readonly loginTime?: string;
  readonly eventKey?: string;
  readonly process?: string;
  readonly evidence: Evidence;
  readonly prov: Provenance;
}

/** What a logging-health record says about the evidence itself (not about a guest operation). */
export type LoggingKind =
  | "vc.event-key" // a vCenter event guestops has no other use for: its key, for the key sequence
  | "esx.remote-failure" // `esx.problem.vmsyslogd.remote.failure`: a host stopped forwarding to a log host
  | "esx.messages-lost"; // `vmsyslog logger <log host> lost N log messages`, `Dropping messages due to log stress`

/**
 * A fact about the logging path: a vCenter event key received (vCenter numbers every event in one
 * sequence, so keys missing from what arrived are lost events), or an ESXi host saying that its
 * own forwarding failed. Coverage reads these; attribution ignores them.
 */
export interface LoggingRecord {
  readonly type: "logging";
  readonly kind: LoggingKind;
  readonly time: string | undefined;
  readonly timeAssumed?: boolean;
  /** The ESXi host that reported the failure, when the line names it. */
  readonly host?: string;
  readonly vcenter?: string;
  /** The log host that could not be reached or lost messages (`udp://10.0.0.5:514`), as written. */
  readonly target?: string;
  /** Messages the host says it lost, when stated. */
  readonly count?: number;
  /** vCenter event key (decimal digits). */
  readonly eventKey?: string;
  readonly process?: string;
  readonly evidence: Evidence;
  readonly prov: Provenance;
}

export type CanonicalRecord = Observation | SessionRecord | LoggingRecord;

/** Codes of per-line problems: counted and reported, never fatal. */
export type ReadIssueCode =
  | "unparsed_line" // looked relevant (matched a marker) but the grammar did not match
  | "missing_time" // record kept, but its timestamp is absent or redacted
  | "bad_time" // timestamp present but invalid
  | "assumed_time" // RFC 3164 timestamp without year/zone: year inferred, zone from --assume-tz
  | "truncated_record" // a line cut short (syslog max length) or a dump without its end
  | "line_too_long" // a physical line over the line limit: cut, counted
  | "invalid_utf8" // bytes that are not UTF-8 (kept as base64 in provenance)
  | "binary_data" // NUL bytes or mostly non-text: input skipped or lines skipped
  | "unknown_format" // no reader recognised the input
  | "truncated_input" // gzip / tar / zip ended early or is damaged: what was read is kept
  | "archive_limit" // an archive yielded more bytes than --max-archive-bytes: the rest not read
  | "bad_json" // a JSON element that does not parse
  | "unknown_method" // a guest-ops spelling not in the catalog
  | "orphan_part" // a part of a multi-part vCenter event whose other parts never came
  | "reader_error"; // a reader threw on a line (a bug met by hostile input): line skipped, run goes on

export interface ReadIssue {
  readonly code: ReadIssueCode;
  readonly message: string;
  readonly source: InputSource;
  readonly line?: number;
  /** A short, escaped-on-output excerpt of the offending text (at most 200 characters). */
  readonly excerpt?: string;
}
