/**
 * The catalog of every vSphere Guest Operations method (`vim.vm.guest.*`): its canonical API name,
 * every spelling logs use for it, its privilege, its category and its ATT&CK techniques.
 * Sources: telemetry.md §2 (methodInfo captured from real servers, govmomi privileges, VIX opcodes).
 */

export type Category = "execute" | "query" | "modify" | "auth" | "alias" | "registry";

export type Manager =
  | "AuthManager"
  | "ProcessManager"
  | "FileManager"
  | "WindowsRegistryManager"
  | "AliasManager"
  | "GuestOperationsManager";

export interface MethodInfo {
  /** Canonical API (SOAP operation) name, e.g. `StartProgramInGuest`. */
  readonly api: string;
  readonly manager: Manager;
  /** Managed-method name as in `vim.vm.guest.ProcessManager.startProgram`. */
  readonly method: string;
  /** `VirtualMachine.GuestOperations.*` privilege the call needs. */
  readonly privilege: string;
  readonly category: Category;
  /** Guest VIX opcode, where known. */
  readonly opcode?: number;
  /** Files leave (`from-guest`) or enter (`to-guest`) the VM. */
  readonly transfer?: "from-guest" | "to-guest";
  /** ATT&CK v18 technique ids: T1675 plus the follow-on technique the method enables. */
  readonly attack: readonly string[];
  /** Further spellings seen in logs or docs besides the derived ones (ATT&CK's `ListFileInGuest`). */
  readonly aliases?: readonly string[];
}

const PRIV = "VirtualMachine.GuestOperations.";

const m = (
  api: string,
  manager: Manager,
  method: string,
  privilege: string,
  category: Category,
  attack: readonly string[],
  extra: Partial<Pick<MethodInfo, "opcode" | "transfer" | "aliases">> = {},
): MethodInfo => ({
  api,
  manager,
  method,
  privilege: PRIV + privilege,
  category,
  attack,
  ...extra,
});

/** Every method, in manager order. */
export const METHODS: readonly MethodInfo[] = [
  m(
    "ValidateCredentialsInGuest",
    "AuthManager",
    "validateCredentials",
    "Query",
    "auth",
    ["T1675", "T1078"],
    { opcode: 192 },
  ),
  m(
    "AcquireCredentialsInGuest",
    "AuthManager",
    "acquireCredentials",
    "Query",
    "auth",
    ["T1675", "T1078"],
    { opcode: 190 },
  ),
  m("ReleaseCredentialsInGuest", "AuthManager", "releaseCredentials", "Query", "auth", ["T1675"], {
    opcode: 191,
  }),
  m(
    "StartProgramInGuest",
    "ProcessManager",
    "startProgram",
    "Execute",
    "execute",
    ["T1675", "T1059"],
    { opcode: 185 },
  ),
  m(
    "ListProcessesInGuest",
    "ProcessManager",
    "listProcesses",
    "Query",
    "query",
    ["T1675", "T1057"],
    { opcode: 186 },
  ),
  m(
    "TerminateProcessInGuest",
    "ProcessManager",
    "terminateProcess",
    "Execute",
    "execute",
    ["T1675", "T1489"],
    { opcode: 193 },
  ),
  m(
    "ReadEnvironmentVariableInGuest",
    "ProcessManager",
    "readEnvironmentVariable",
    "Query",
    "query",
    ["T1675", "T1082"],
    { opcode: 187 },
  ),
  m("ListFilesInGuest", "FileManager", "listFiles", "Query", "query", ["T1675", "T1083"], {
    opcode: 177,
    aliases: ["ListFileInGuest"],
  }),
  m(
    "InitiateFileTransferFromGuest",
    "FileManager",
    "initiateFileTransferFromGuest",
    "Query",
    "query",
    ["T1675", "T1005"],
    { opcode: 188, transfer: "from-guest" },
  ),
  m(
    "InitiateFileTransferToGuest",
    "FileManager",
    "initiateFileTransferToGuest",
    "Modify",
    "modify",
    ["T1675", "T1105"],
    { opcode: 189, transfer: "to-guest" },
  ),
  m(
    "CreateTemporaryFileInGuest",
    "FileManager",
    "createTemporaryFile",
    "Modify",
    "modify",
    ["T1675"],
    { opcode: 181 },
  ),
  m(
    "CreateTemporaryDirectoryInGuest",
    "FileManager",
    "createTemporaryDirectory",
    "Modify",
    "modify",
    ["T1675"],
    { opcode: 182 },
  ),
  m("MakeDirectoryInGuest", "FileManager", "makeDirectory", "Modify", "modify", ["T1675"], {
    opcode: 178,
  }),
  m("DeleteFileInGuest", "FileManager", "deleteFile", "Modify", "modify", ["T1675", "T1070.004"], {
    opcode: 194,
  }),
  m(
    "DeleteDirectoryInGuest",
    "FileManager",
    "deleteDirectory",
    "Modify",
    "modify",
    ["T1675", "T1070.004"],
    { opcode: 195 },
  ),
  m("MoveFileInGuest", "FileManager", "moveFile", "Modify", "modify", ["T1675"], { opcode: 179 }),
  m("MoveDirectoryInGuest", "FileManager", "moveDirectory", "Modify", "modify", ["T1675"], {
    opcode: 180,
  }),
  m(
    "ChangeFileAttributesInGuest",
    "FileManager",
    "changeFileAttributes",
    "Modify",
    "modify",
    ["T1675", "T1222"],
    { opcode: 183 },
  ),
  m(
    "CreateRegistryKeyInGuest",
    "WindowsRegistryManager",
    "createRegistryKey",
    "Modify",
    "registry",
    ["T1675", "T1112"],
    { opcode: 201 },
  ),
  m(
    "ListRegistryKeysInGuest",
    "WindowsRegistryManager",
    "listRegistryKeys",
    "Query",
    "registry",
    ["T1675", "T1012"],
    { opcode: 202 },
  ),
  m(
    "DeleteRegistryKeyInGuest",
    "WindowsRegistryManager",
    "deleteRegistryKey",
    "Modify",
    "registry",
    ["T1675", "T1112"],
    { opcode: 203 },
  ),
  m(
    "SetRegistryValueInGuest",
    "WindowsRegistryManager",
    "setRegistryValue",
    "Modify",
    "registry",
    ["T1675", "T1112"],
    { opcode: 204 },
  ),
  m(
    "ListRegistryValuesInGuest",
    "WindowsRegistryManager",
    "listRegistryValues",
    "Query",
    "registry",
    ["T1675", "T1012"],
    { opcode: 205 },
  ),
  m(
    "DeleteRegistryValueInGuest",
    "WindowsRegistryManager",
    "deleteRegistryValue",
    "Modify",
    "registry",
    ["T1675", "T1112"],
    { opcode: 206 },
  ),
  m("AddGuestAlias", "AliasManager", "addAlias", "ModifyAliases", "alias", ["T1675", "T1098"], {
    opcode: 197,
  }),
  m(
    "RemoveGuestAlias",
    "AliasManager",
    "removeAlias",
    "ModifyAliases",
    "alias",
    ["T1675", "T1098"],
    { opcode: 198 },
  ),
  m(
    "RemoveGuestAliasByCert",
    "AliasManager",
    "removeAliasByCert",
    "ModifyAliases",
    "alias",
    ["T1675", "T1098"],
    { opcode: 207 },
  ),
  m(
    "ListGuestAliases",
    "AliasManager",
    "listAliases",
    "QueryAliases",
    "alias",
    ["T1675", "T1087"],
    { opcode: 199 },
  ),
  m(
    "ListGuestMappedAliases",
    "AliasManager",
    "listMappedAliases",
    "QueryAliases",
    "alias",
    ["T1675", "T1087"],
    { opcode: 200 },
  ),
  m("QueryDisabledMethods", "GuestOperationsManager", "queryDisabledMethods", "Query", "query", [
    "T1675",
  ]),
];

export type ApiName = string;

/** `vim.vm.guest.ProcessManager.startProgram` */
export const methodKey = (info: MethodInfo): string =>
  `vim.vm.guest.${info.manager}.${info.method}`;

/** The name vmware.log uses after `GuestOps.`: the API name minus `InGuest` (`StartProgram`). */
export const vmxName = (info: MethodInfo): string => info.api.replace(/InGuest$/, "");

/** The hostd / vCenter event label: the vmware.log name split into words (`Start Program`). */
export const eventLabel = (info: MethodInfo): string =>
  vmxName(info).replace(/([a-z])([A-Z])/g, "$1 $2");

/** Every spelling of a method that logs, docs and ATT&CK use. */
export function spellings(info: MethodInfo): string[] {
  const vmx = vmxName(info);
  return [
    info.api,
    methodKey(info),
    `${info.manager}.${info.method}`,
    info.method,
    vmx,
    `GuestOps.${vmx}`,
    eventLabel(info),
    ...(info.aliases ?? []),
  ];
}

/** Lookup key: case- and white-space-insensitive. */
const normalise = (spelling: string): string => spelling.replace(/\s+/g, "").toLowerCase();

// A Map, never a plain object: spellings come from logs and are attacker-controlled.
const BY_SPELLING: ReadonlyMap<string, MethodInfo> = new Map(
  METHODS.flatMap((info) => spellings(info).map((s) => [normalise(s), info] as const)),
);

const BY_API: ReadonlyMap<string, MethodInfo> = new Map(METHODS.map((i) => [i.api, i]));

/**
 * The method a log spelling names, or undefined. Accepts every form in `spellings()` in any case
 * and spacing, and the VIX opcode as a number.
 */
export function lookupMethod(spelling: string | number): MethodInfo | undefined {
  if (typeof spelling === "number") return METHODS.find((i) => i.opcode === spelling);
  return BY_SPELLING.get(normalise(spelling));
}

/** The entry of a canonical API name (exact). */
export const methodByApi = (api: string): MethodInfo | undefined => BY_API.get(api);
