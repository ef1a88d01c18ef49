/**
 * Identity normalisation, done once for the whole product: accounts, ESXi hosts, VMs and the
 * client a call came from. Attribution joins records with these keys; the policy matches
 * accounts with `accountMatches`. Every input is a string copied from a log: nothing here
 * indexes a plain object with it.
 */
import type { Principal } from "../model/operation.js";
import type { VmRef } from "../model/record.js";
import { globMatch } from "../shared/glob.js";

/* ------------------------------------------------------------------------------------------------
 * Accounts
 * ---------------------------------------------------------------------------------------------- */

/**
 * vCenter SSO solution users (`vpxd-extension-<uuid>`, `vsphere-webclient-<uuid>`,
 * `machine-<uuid>` ...): a prefix naming the service, then a UUID-like tail. Services, not people.
 */
const SOLUTION_PREFIX =
  /^(?:vpxd-extension|vpxd|vsphere-webclient|machine|hvc|wcp|vsan-health|vsm|sps|eam|vlcm|vmware-vsm|vsphere-ui|content-library|infraprofile|vstats|sca|updatemgr|vmca|trustmanagement|vcha|vlcm-extension)-[0-9a-f]{8}(?:-?[0-9a-f]{4}){3}-?[0-9a-f]{12}$/;

/** Service accounts vCenter itself registers under well-known names. */
const SOLUTION_NAMES: ReadonlySet<string> = new Set([
  "com.vmware.vim.eam",
  "vmware-vsm",
  "vsphere-webclient",
  "vpxd-extension",
]);

/** What hostd writes after `vpxuser:` when vCenter passed no end user. */
const NO_END_USER: ReadonlySet<string> = new Set(["", "<no user>", "vpxuser", "(null)", "-"]);

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^\[?[0-9a-fA-F:]*:[0-9a-fA-F:.]*(?:%[\w.]+)?\]?$/;

/** True for an IPv4 or IPv6 literal (with or without brackets). */
export const isIpAddress = (text: string): boolean => IPV4.test(text) || IPV6.test(text);

const lower = (text: string): string => text.normalize("NFC").toLowerCase();

const VPXUSER_PREFIX = /^vpxuser:/i;

/**
 * The normalised form of an account as written in a log or a policy:
 * - case-insensitive; `DOMAIN\user` and `user@domain` give one id, `domain\user` (lower case);
 *   a domain that is an IP address (`root@192.168.1.5` as login lines write it) is dropped;
 * - `vpxuser:<end user>` (hostd, for calls vCenter made) gives the end user with
 *   `viaVcenter: true`; `vpxuser:<no user>`, `vpxuser:vpxuser` and `vpxuser` itself give the
 *   principal kind `vpxuser` (vCenter's host account, no end user known);
 * - vCenter solution users (`vpxd-extension-<uuid>`, ...) are kind `vcenter-solution`;
 * - accounts without a domain (`root`, `dcui`, local users) are kind `host-local`;
 * - an empty account is kind `unknown` with id `""`.
 */
export function normaliseAccount(raw: string): Principal {
  const display = raw.trim();
  let text = display.replace(/^["']+|["']+$/g, "").trim();
  let viaVcenter = false;
  if (VPXUSER_PREFIX.test(text)) {
    viaVcenter = true;
    text = text.slice("vpxuser:".length).trim();
    if (NO_END_USER.has(lower(text))) {
      return { id: "vpxuser", display, user: "vpxuser", kind: "vpxuser", viaVcenter };
    }
  }
  if (text === "" || text === "<no user>") return { id: "", display, user: "", kind: "unknown" };

  let domain: string | undefined;
  let user = text;
  // `VSPHERE.LOCAL\\Administrator` (an escaped backslash left by an export) is one separator.
  const slash = /\\+/.exec(text);
  const at = text.lastIndexOf("@");
  if (slash && slash.index > 0 && slash.index + slash[0].length < text.length) {
    domain = text.slice(0, slash.index);
    user = text.slice(slash.index + slash[0].length);
  } else if (at > 0 && at < text.length - 1) {
    user = text.slice(0, at);
    domain = text.slice(at + 1);
    if (isIpAddress(domain)) domain = undefined;
  }
  user = lower(user.trim());
  const dom = domain === undefined ? undefined : lower(domain.trim()).replace(/\.$/, "");
  const id = dom ? `${dom}\\${user}` : user;
  const kind = accountKind(user, dom);
  const principal: Principal = dom
    ? { id, display, domain: dom, user, kind }
    : { id, display, user, kind };
  return viaVcenter ? { ...principal, viaVcenter } : principal;
}

/**
 * A pure function of a spelling, remembered per spelling: runs name few accounts and hosts, and the
 * correlator asks for them at every record and every build. At most `kept` spellings are held; past
 * that the memory starts again (log text is the attacker's: it must not grow without bound).
 */
function rememberedPerSpelling<T>(kept: number, of: (raw: string) => T): (raw: string) => T {
  const known = new Map<string, T>();
  return (raw) => {
    let value = known.get(raw);
    if (value === undefined) {
      if (known.size >= kept) known.clear();
      value = of(raw);
      known.set(raw, value);
    }
    return value;
  };
}

/**
 * `normaliseAccount(raw)`, remembered per spelling. The principal returned is shared between the
 * operations that name it (it is never changed).
 */
export const accountOf: (raw: string) => Principal = rememberedPerSpelling(4096, normaliseAccount);

function accountKind(user: string, domain: string | undefined): Principal["kind"] {
  if (SOLUTION_PREFIX.test(user) || SOLUTION_NAMES.has(user)) return "vcenter-solution";
  if (user === "vpxuser") return "vpxuser";
  if (domain === undefined) return "host-local";
  return "person";
}

/** True when the principal names an accountable end user (not vpxuser, not unknown). */
export const namesEndUser = (principal: Principal): boolean =>
  principal.kind !== "vpxuser" && principal.kind !== "unknown" && principal.id !== "";

/** Two principals are the same account (same id). */
export const samePrincipal = (a: Principal, b: Principal): boolean => a.id === b.id;

/** `corp` (NetBIOS) and `corp.example.com` (DNS) name one domain: the first label is compared. */
const domainsMatch = (a: string, b: string): boolean => {
  if (a === b) return true;
  const [short, long] = a.includes(".") ? [b, a] : [a, b];
  return !short.includes(".") && long.includes(".") && long.slice(0, long.indexOf(".")) === short;
};

/**
 * Whether a principal is the account a pattern names. The pattern is normalised like an account
 * (`CORP\svc-veeam`, `svc-veeam@corp.example.com`, `root`, `vpxuser`) and may hold `*` / `?`
 * wildcards in the user and domain parts (`CORP\svc-*`, `*\backup`). A pattern without a domain
 * matches only accounts without one, except `*` alone, which matches every named account. A
 * NetBIOS domain matches the DNS domain it is the first label of (`CORP` ~ `corp.example.com`).
 */
export function accountMatches(principal: Principal, pattern: string): boolean {
  if (principal.id === "") return false;
  const trimmed = pattern.trim();
  if (trimmed === "*") return true;
  const wanted = normaliseAccount(trimmed);
  if (wanted.id === "") return false;
  const glob = /[*?]/.test(trimmed);
  if (!glob) {
    if (wanted.id === principal.id) return true;
    return (
      wanted.domain !== undefined &&
      principal.domain !== undefined &&
      wanted.user === principal.user &&
      domainsMatch(wanted.domain, principal.domain)
    );
  }
  if (!globMatch(wanted.user, principal.user)) return false;
  if (wanted.domain === undefined) return principal.domain === undefined;
  if (principal.domain === undefined) return wanted.domain === "*";
  const netbios = principal.domain.split(".")[0] ?? principal.domain;
  return globMatch(wanted.domain, principal.domain) || globMatch(wanted.domain, netbios);
}

/* ------------------------------------------------------------------------------------------------
 * Hosts
 * ---------------------------------------------------------------------------------------------- */

/**
 * One key per ESXi host however a source names it: `ESX01`, `esx01.corp.local` and
 * `esx01.corp.local.` give `esx01` (the short name, lower case); an IP address is kept as is
 * (IPv6 lower case, brackets removed), since nothing in a log line says which name it has.
 * Two hosts with the same short name in different domains share a key (documented limit).
 * Remembered per spelling.
 */
export const hostKey: (raw: string) => string = rememberedPerSpelling(4096, hostKeyOf);

function hostKeyOf(raw: string): string {
  const text = raw.trim().replace(/\.$/, "");
  if (text === "") return "";
  if (IPV4.test(text)) return text;
  if (IPV6.test(text)) return text.replace(/^\[|\]$/g, "").toLowerCase();
  const name = lower(text);
  const dot = name.indexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/** The name is an address (IPv4, or IPv6 with or without brackets), not a host name. */
export const isAddress = (raw: string): boolean => {
  const text = raw.trim();
  return IPV4.test(text) || IPV6.test(text);
};

/** A loopback address (127.0.0.0/8, ::1, ::ffff:127.x): vpxa on the host itself. */
export function isLoopback(ip: string): boolean {
  const text = ip
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return (
    /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(text) ||
    /^(?:0{0,4}:){2,7}0{0,3}1$/.test(text)
  );
}

/** Whether two host spellings name the same host; unknown (absent) hosts are compatible. */
export const hostsCompatible = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined || a === "" || b === "" || hostKey(a) === hostKey(b);

/* ------------------------------------------------------------------------------------------------
 * VMs
 * ---------------------------------------------------------------------------------------------- */

/** The VM's folder (`/vmfs/volumes/ds/vm`) from a `.vmx` path. */
export function vmDirOf(vmx: string): string {
  const cut = vmx.lastIndexOf("/");
  return cut > 0 ? vmx.slice(0, cut) : "";
}

/**
 * The folder name and file name of a VM path, the part that does not depend on whether the
 * datastore is written by name or by UUID (`/vmfs/volumes/datastore1/x/x.vmx` and
 * `/vmfs/volumes/5f3e.../x/x.vmx` are the same file on one host).
 */
const pathTail = (path: string, parts: number): string =>
  path.replace(/\/+$/, "").split("/").slice(-parts).join("/");

/** The VM name a path suggests: the `.vmx` file name without extension, else the folder name. */
export function vmNameFromPath(path: string): string | undefined {
  const file = pathTail(path, 1);
  if (file.endsWith(".vmx")) return file.slice(0, -4) || undefined;
  return file || undefined;
}

/** The facts a source gives about a VM, normalised for comparison. */
export interface VmFacts {
  /** Display names seen (exactly as written; display names are case-sensitive). */
  readonly names: readonly string[];
  /** `<dir>/<file>.vmx` tails. */
  readonly vmx?: string;
  /** Folder name (last component of the VM directory). */
  readonly dir?: string;
  /** Managed object id as written (`vm-42`, `12`). */
  readonly moref?: string;
  /** Host key of the vCenter (or ESXi host) the moref belongs to; absent when not known. */
  readonly morefScope?: string;
  /**
   * Names that suggest the VM without deciding it: vmware.log's `displayName` (as it was at
   * power-on, stale after a rename) or its folder name.
   */
  readonly hints?: readonly string[];
}

/** Normalised facts of a VmRef; `scope` is the vCenter (or host) the moref belongs to. */
export function vmFacts(ref: VmRef | undefined, scope?: string): VmFacts {
  if (!ref) return { names: [] };
  const vmx = ref.vmx ? pathTail(ref.vmx, 2) : undefined;
  const dirPath = ref.dir ?? (ref.vmx ? vmDirOf(ref.vmx) : undefined);
  const dir = dirPath ? pathTail(dirPath, 1) : undefined;
  const name = ref.name?.trim();
  const moref = ref.moref?.trim();
  const morefScope = moref && scope ? hostKey(scope) : undefined;
  return {
    names: name ? [name] : [],
    ...(vmx ? { vmx } : {}),
    ...(dir ? { dir } : {}),
    ...(moref ? { moref } : {}),
    ...(morefScope ? { morefScope } : {}),
  };
}

/** How two descriptions of a VM relate (see `compareVm`). */
export type VmMatch = "same" | "likely" | "unknown" | "different";

/**
 * How two descriptions of a VM relate:
 * - `same`: a decisive key agrees (moref in one scope, `.vmx` path) or a display name is shared;
 * - `likely`: a folder or `.vmx` file name equals the other's display name (how VMs are created);
 * - `different`: a decisive key or the display names disagree;
 * - `unknown`: nothing comparable. A display name never contradicts a folder or `.vmx` name,
 *   because a renamed VM keeps its folder.
 */
export function compareVm(a: VmFacts, b: VmFacts): VmMatch {
  if (a.moref && b.moref) {
    if (a.morefScope && b.morefScope) {
      if (a.morefScope === b.morefScope) return a.moref === b.moref ? "same" : "different";
      // two vCenter morefs (`vm-N`) of two vCenters: a VM is registered in one vCenter
      if (/^vm-\d+$/.test(a.moref) && /^vm-\d+$/.test(b.moref)) return "different";
    }
    if (a.morefScope === undefined || b.morefScope === undefined) {
      if (a.moref === b.moref && /^vm-\d+$/.test(a.moref)) return "same";
    }
  }
  if (a.vmx && b.vmx) return a.vmx === b.vmx ? "same" : "different";
  if (a.dir && b.dir && a.dir !== b.dir) return "different";
  if (a.names.length && b.names.length) {
    return a.names.some((n) => b.names.includes(n)) ? "same" : "different";
  }
  if (a.dir && b.dir) return "same";
  const folderName = (f: VmFacts): string | undefined =>
    f.dir ?? (f.vmx ? vmNameFromPath(f.vmx) : undefined);
  const weakA = [...(a.hints ?? []), ...(folderName(a) ? [folderName(a) ?? ""] : [])];
  const weakB = [...(b.hints ?? []), ...(folderName(b) ? [folderName(b) ?? ""] : [])];
  if (weakA.some((n) => b.names.includes(n)) || weakB.some((n) => a.names.includes(n))) {
    return "likely";
  }
  return "unknown";
}

/** The union of two VM descriptions (after they were found to be the same VM). */
export function mergeVmFacts(a: VmFacts, b: VmFacts): VmFacts {
  // most merges add a record that names no VM, or the same VM again: `a` is then the union
  if (addsNothing(a, b)) return a;
  const names = [...a.names, ...b.names.filter((n) => !a.names.includes(n))];
  const vmx = a.vmx ?? b.vmx;
  const dir = a.dir ?? b.dir;
  const fromA = a.moref !== undefined;
  const moref = fromA ? a.moref : b.moref;
  const morefScope = fromA ? a.morefScope : b.morefScope;
  const hints = [
    ...(a.hints ?? []),
    ...(b.hints ?? []).filter((n) => !(a.hints ?? []).includes(n)),
  ];
  return {
    names,
    ...(hints.length ? { hints } : {}),
    ...(vmx ? { vmx } : {}),
    ...(dir ? { dir } : {}),
    ...(moref ? { moref } : {}),
    ...(morefScope ? { morefScope } : {}),
  };
}

/** `b` holds no fact `a` lacks: their union (`mergeVmFacts`) says what `a` says. */
function addsNothing(a: VmFacts, b: VmFacts): boolean {
  return (
    b.names.every((n) => a.names.includes(n)) &&
    (b.hints === undefined || b.hints.every((n) => a.hints?.includes(n) === true)) &&
    (b.vmx === undefined || a.vmx !== undefined) &&
    (b.dir === undefined || a.dir !== undefined) &&
    (a.moref !== undefined || (b.moref === undefined && b.morefScope === a.morefScope))
  );
}

/* ------------------------------------------------------------------------------------------------
 * Clients
 * ---------------------------------------------------------------------------------------------- */

const USER_AGENTS: readonly (readonly [RegExp, string])[] = [
  [/PowerCLI/i, "PowerCLI"],
  [/pyvmomi/i, "pyVmomi"],
  [/govc/i, "govc"],
  [/govmomi|Go-http-client/i, "govmomi (Go)"],
  [/rbvmomi/i, "rbvmomi"],
  [/ansible/i, "Ansible"],
  [/terraform/i, "Terraform"],
  [/VMware vim-java|vSphere Client|vsphere-ui|VMware-client/i, "vSphere Client"],
  [/veeam/i, "Veeam"],
  [/vRealize|vrops|Aria/i, "Aria Operations"],
  [/Orchestrator|vco/i, "Aria Orchestrator"],
  [/Mozilla|Chrome|Safari|Firefox|Edg\//, "browser"],
  [/curl/i, "curl"],
  [/python/i, "Python"],
];

/** The client family a user agent names (`PowerCLI/13.2.1` → `PowerCLI`), if recognised. */
export function clientFromUserAgent(userAgent: string | undefined): string | undefined {
  if (!userAgent) return undefined;
  for (const [pattern, client] of USER_AGENTS) if (pattern.test(userAgent)) return client;
  return undefined;
}

/** What an opID's shape says about the caller (telemetry.md §6). */
export interface OpIdShape {
  /** The client, when the shape names one (`Host Client`, `vim-cmd (ESXi shell)`). */
  readonly client?: string;
  /** `direct` for Host Client / vim-cmd ids, `vcenter` for ids with vCenter/vpxa hop suffixes. */
  readonly via?: "direct" | "vcenter";
}

/**
 * The shape of a host-side opID: `esxui-…` is the ESXi Host Client, `vim-cmd-…` the ESXi shell;
 * an id with a vpxa hop suffix (`…-df-5944`, `…-14-0ef2`: two then four hex digits after at
 * least one earlier segment) came through vCenter. A bare 8-hex id says nothing.
 */
export function opIdShape(opId: string | undefined): OpIdShape {
  if (!opId) return {};
  if (/^esxui-/i.test(opId)) return { client: "Host Client", via: "direct" };
  if (/^vim-cmd-/i.test(opId)) return { client: "vim-cmd (ESXi shell)", via: "direct" };
  if (/^[^-]+(?:-[^-]+)*-[0-9a-f]{2}-[0-9a-f]{4}$/i.test(opId) && opId.split("-").length >= 3) {
    return { via: "vcenter" };
  }
  return {};
}

/**
 * Whether a host-side opID belongs to a vCenter-side one: equal, or the vCenter id followed by
 * hop suffixes (`58B46869-0000005E-46` → `58B46869-0000005E-46-3d-df-5944`). Case-insensitive.
 * Ids shorter than 6 characters are never treated as a family root.
 */
export function opIdBelongsTo(hostOpId: string, vcenterOpId: string): boolean {
  const h = hostOpId.toLowerCase();
  const v = vcenterOpId.toLowerCase();
  return h === v || (v.length >= 6 && h.startsWith(`${v}-`));
}

/** The hop prefixes of an opID, longest last (`a-b-c` → `a`, `a-b`, `a-b-c`), 6+ characters. */
export function opIdPrefixes(opId: string): string[] {
  const parts = opId.toLowerCase().split("-");
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join("-");
    if (prefix.length >= 6) out.push(prefix);
  }
  return out;
}
