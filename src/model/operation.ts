/**
 * An attributed guest operation: one API call, however many sources saw it, with the principal
 * who made it and how sure guestops is of that. Built by `attribute/`, consumed by rules and reports.
 */
import type { Category } from "./catalog.js";
import type { Observation, Outcome, Provenance, SessionRecord } from "./record.js";

/**
 * How the principal was established (docs/attribution.md):
 * - `exact`: a record of this very operation names the principal (vCenter event user, a hostd line
 *   of this operation's opID with `user=`, an audit `api.call` subject);
 * - `correlated`: reached through an opID or session chain to a record that names the principal;
 * - `inferred`: circumstantial only (e.g. the single non-vCenter session open on that host then);
 * - `ambiguous`: more than one candidate fits; none is chosen;
 * - `unknown`: nothing names the principal.
 */
export type AttributionLevel = "exact" | "correlated" | "inferred" | "ambiguous" | "unknown";

/** A normalised account. */
export interface Principal {
  /** Canonical form used for matching: `domain\user` lower-case, or `user` for local accounts. */
  readonly id: string;
  /** The account as first written by the source that named it. */
  readonly display: string;
  readonly domain?: string;
  readonly user: string;
  /** `vcenter-solution` for vpxd-extension-* and similar; `host-local` for root/dcui/local users. */
  readonly kind: "person" | "vcenter-solution" | "host-local" | "vpxuser" | "unknown";
  /** The account was written with hostd's `vpxuser:` prefix: the call came through vCenter. */
  readonly viaVcenter?: boolean;
}

export interface Attribution {
  readonly level: AttributionLevel;
  /** Absent unless level is exact, correlated or inferred. */
  readonly principal?: Principal;
  /** Candidates when ambiguous. */
  readonly candidates?: readonly Principal[];
  /** Plain-language reason (`hostd state line of opID ee13d46d names user=root`). */
  readonly reason: string;
  /**
   * Ids of the evidence records: `obs:<i>` is `Operation.observations[i]`, `session:<i>` is
   * `Operation.sessions[i]`.
   */
  readonly evidence: readonly string[];
  /**
   * Ids of other operations the attribution relies on: for a session chain, the operations of the
   * same session whose own records name the principal (`Operation.id` values of the same run).
   */
  readonly related?: readonly string[];
}

/** Where the call came from. */
export interface Origin {
  /** `vcenter` when the call went through vCenter (vpxuser, vpxd LRO), `host` when straight to ESXi. */
  readonly via: "vcenter" | "direct" | "unknown";
  readonly sourceIp?: string;
  readonly userAgent?: string;
  /** Client family from the user agent or opID shape: PowerCLI, pyvmomi, govc, Host Client, vim-cmd ... */
  readonly client?: string;
  /**
   * How the session giving the address and user agent was tied to the operation: `correlated`
   * (its session id or opID), `inferred` (the only session open then). Absent without a session.
   */
  readonly basis?: "exact" | "correlated" | "inferred";
}

export interface Operation {
  /**
   * Stable id from the content key (`model/record-key.ts`) of its earliest host-side record, else
   * its earliest vCenter one: the same lines read through any file give the same id.
   */
  readonly id: string;
  /** Earliest observation time (UTC ISO 8601); undefined when no observation has a time. */
  readonly time: string | undefined;
  readonly host?: string;
  readonly vcenter?: string;
  readonly vm: {
    readonly name?: string;
    readonly vmx?: string;
    readonly moref?: string;
    /** The VM's datastore directory (from a .vmx path or the vmware.log location). */
    readonly dir?: string;
  };
  /** Canonical API name, e.g. `StartProgramInGuest`; `unknown` when only a burst or fault says so. */
  readonly api: string;
  readonly category: Category | "unknown";
  readonly outcome: Outcome;
  readonly attribution: Attribution;
  readonly origin: Origin;
  readonly opId?: string;
  readonly session?: string;
  readonly guest?: Observation["guest"];
  /** Every sighting, in time order. */
  readonly observations: readonly Observation[];
  /**
   * Records read that were copies of a listed observation (the same line read again, or more
   * copies from other sources than are worth listing): counted here, not listed. Absent when none.
   */
  readonly copies?: number;
  /** Latest observation time (the call's completion as far as the logs tell). */
  readonly end?: string;
  /** Session records (logins, `[Auth]` lines) the attribution or origin relies on. */
  readonly sessions?: readonly SessionRecord[];
  /**
   * Set on the record a vCenter event burst leaves (`api` is then `unknown`): it stands for
   * operations vCenter's burst filter kept out of its event database.
   */
  readonly hidden?: {
    /** How many operations the burst record says it compressed, when it says. */
    readonly count?: number;
    /** The burst phase as written (`started`, `compressed`, `ended`), when known. */
    readonly phase?: string;
  };
  /** Plain-language remarks on how the record was built (`no time: the source redacted it`). */
  readonly notes?: readonly string[];
}

export type { Provenance };
