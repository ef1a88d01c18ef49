/**
 * What closes each kind of coverage gap, in the words of the vendors' hardening guidance (vSphere
 * Security "Guest Operations privileges" and "nonguest access role", the VCF security configuration
 * guide's logging and `guest-9.tools-deactivate-guestoperations` controls).
 */

export const FIX = {
  forwardVcenterEvents:
    "forward vCenter events (syslog event streaming) or export them (govc events -json, Get-VIEvent) with vCenter config.log.level=info, and collect vpxd.log: they name the vCenter user of every call",
  hostdInfo:
    "keep hostd at info (Config.HostAgent.log.level=info) with no log filters, and forward hostd to a syslog receiver (Syslog.global.logHost)",
  auditRecords:
    "on ESXi 8.0.3+ enable and forward audit records (Syslog.global.auditRecord.remoteEnable, audit storage of 100 MiB or more): they name the account of every API call",
  vmwareLog:
    "collect vmware*.log (vm-support bundle or the VM's datastore directory) before it rotates: it is the only record kept beside the VM",
  ntp: "keep every ESXi host and vCenter in NTP sync (the same time sources): joins and timelines need one clock",
  retention:
    "send these sources to a receiver that keeps them for the required period, and collect what hosts still hold before it rotates",
  restrictPrivileges:
    "restrict VirtualMachine.GuestOperations.* privileges to the accounts that need them (an 'Administrator No Guest Access' role for the others), especially Query, which suffices to pull files out of a guest (InitiateFileTransferFromGuest)",
  disableOnCritical:
    "disable guest operations in VMware Tools' tools.conf on critical VMs that do not need them ([guestoperations] disabled=true); not on templates or VMs a recovery plan reconfigures",
  reliableTransport:
    "forward over TCP or TLS rather than UDP, to a receiver that is always up (two log hosts, or one with a disk queue), and raise the receiver's limits before ESXi's queue overflows",
  remoteFailureAlarm:
    "keep the vCenter alarm on esx.problem.vmsyslogd.remote.failure ('Remote logging host has become unreachable') and collect what the host kept locally (vm-support) for the outage",
  inputHost:
    "give the host of inputs whose lines name none (--input-host PATH=NAME), or collect them in a vm-support bundle named after the host",
} as const;

/** The fix for a source that is absent or silent. */
export const FIX_FOR_SOURCE: ReadonlyMap<string, readonly string[]> = new Map<
  string,
  readonly string[]
>([
  ["hostd", [FIX.hostdInfo]],
  ["vmware.log", [FIX.vmwareLog]],
  ["vpxd", [FIX.forwardVcenterEvents]],
  ["vCenter events", [FIX.forwardVcenterEvents]],
  ["audit records", [FIX.auditRecords]],
]);
