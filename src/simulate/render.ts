/**
 * Turns runs into log lines in the formats guestops reads, and each call into its label. Line
 * shapes follow the real samples (telemetry reference §3-5): ESXi 8 `In(166) Hostd[pid]:` and 7.x
 * `info hostd[pid]` local lines, their RFC 3164 syslog forms, vmware.log Vigor request/response
 * pairs, vpxd.log LROs, the vCenter event stream (RFC 5424) and a JSON event export. Every line
 * is tagged with its format and whether real samples confirm it ([V]) or not ([I]).
 */
import { eventLabel, methodByApi, vmxName } from "../model/catalog.js";
import type { OperationLabel } from "../evaluate/labels.js";
import { dayInfo, type Account, type Fleet, type Host, type Vm } from "./fleet.js";
import type { Output } from "./output.js";
import type { Rng } from "./random.js";
import type { Plan, Run } from "./scenarios.js";

export const PATHS = {
  receiver: "logs/receiver/esxi-hosts.log",
  vcStream: "logs/receiver/vc01-events.log",
  vpxd: "logs/vc01/vpxd.log",
  vcJson: "logs/vc01/events-export.json",
  labels: "labels.ndjson",
  policy: "policy.yaml",
} as const;

export const hostdPath = (h: Host): string => `logs/${h.short}/var/run/log/hostd.log`;
export const vmxPath = (vm: Vm): string => `logs/${vm.home.short}${vm.datastore}/vmware.log`;

/** hostd event labels a real sample shows (telemetry §3.2). */
const VERIFIED_HOSTD = new Set([
  "StartProgramInGuest",
  "CreateTemporaryFileInGuest",
  "InitiateFileTransferFromGuest",
  "InitiateFileTransferToGuest",
  "DeleteFileInGuest",
]);
/** vmware.log `GuestOps.<X>` names a real sample shows (§4). */
const VERIFIED_VMX = new Set([...VERIFIED_HOSTD, "ListProcessesInGuest"]);

const iso = (ms: number): string => new Date(Math.round(ms)).toISOString();
const iso5424 = (ms: number): string => iso(ms).replace("Z", "000+00:00");

const BURST_LIMIT = 30;
const BURST_WINDOW_MS = 30_000;

interface Burst {
  readonly times: number[];
  active?: { start: number; last: number; count: number } | undefined;
}

export class Renderer {
  readonly #fleet: Fleet;
  readonly #plan: Plan;
  readonly #out: Output;
  readonly #rnd: Rng;
  readonly #label: (label: OperationLabel) => void;
  #vcKey = 4_100_000;
  #lro = 7_200_000;
  readonly #sessions = new Map<string, string>();
  readonly #bursts = new Map<string, Burst>();
  /** Keys of the bursts in progress. */
  readonly #active = new Set<string>();
  readonly #vmxStarted = new Map<Vm, Host>();
  /** Events of the last day also go to the JSON export. */
  readonly #jsonFrom: number;

  constructor(
    fleet: Fleet,
    plan: Plan,
    out: Output,
    rnd: Rng,
    label: (label: OperationLabel) => void,
  ) {
    this.#fleet = fleet;
    this.#plan = plan;
    this.#out = out;
    this.#rnd = rnd;
    this.#label = label;
    this.#jsonFrom = fleet.dayStarts[fleet.dayStarts.length - 2] ?? 0;
  }

  /** vpxa logs in to every host (as vpxuser from loopback) before the period. */
  start(): void {
    const t0 = this.#fleet.dayStarts[0] ?? 0;
    for (const h of this.#fleet.hosts) {
      const sid = this.#rnd.hex(8);
      const t = t0 - 3_600_000 + h.skew;
      this.#hostd(
        h,
        t,
        "Vimsvc.HaSessionManager",
        { opId: this.#rnd.hex(8), sid },
        `Accepted password for user vpxuser from 127.0.0.1 - session=${sid}-${this.#rnd.uuid().slice(9)}`,
      );
      this.#hostd(
        h,
        t + 2,
        "Vimsvc.ha-eventmgr",
        { sid },
        `Event ${h.eventKey++} : User vpxuser@127.0.0.1 logged in as VMware-client/6.5.0`,
      );
    }
  }

  /** One hostd line on host `h` at host-clock time `t`; false when the host was not forwarding. */
  #hostd(
    h: Host,
    t: number,
    sub: string,
    ctx: { opId?: string; sid?: string; user?: string },
    msg: string,
  ): boolean {
    const gap = this.#plan.gap;
    if (gap && gap.host === h && t >= gap.from && t < gap.to) return false;
    const orig = `[Originator@6876 sub=${sub}${ctx.opId ? ` opID=${ctx.opId}` : ""}${ctx.sid ? ` sid=${ctx.sid}` : ""}${ctx.user && h.version === 7 ? ` user=${ctx.user}` : ""}]`;
    const ts = iso(t);
    let text: string;
    if (h.version === 8) {
      text =
        h.forwarding === "local"
          ? `${ts} In(166) Hostd[${h.pid}]: ${orig} ${msg}`
          : `<166>${ts} ${h.fqdn} Hostd[${h.pid}]: ${orig} ${msg}`;
    } else {
      const body = `info hostd[${h.pid + this.#rnd.int(0, 40)}] ${orig} ${msg}`;
      text = h.forwarding === "local" ? `${ts} ${body}` : `<166>${ts} ${h.fqdn} Hostd: ${body}`;
    }
    this.#out.add(h.forwarding === "local" ? hostdPath(h) : PATHS.receiver, t, text);
    return true;
  }

  #hostdFormat(h: Host): string {
    return `hostd-${h.version}-${h.forwarding}`;
  }

  #vmx(vm: Vm, h: Host, t: number, text: string): void {
    if (this.#vmxStarted.get(vm) !== h) {
      // a new vmx log block names the host it runs on (again after a vMotion)
      this.#vmxStarted.set(vm, h);
      const ht = t - 60_000;
      this.#out.add(
        vmxPath(vm),
        ht,
        `${iso(ht)} In(05) vmx - Log for VMware ESX pid=${h.pid + 7} version=${h.version === 8 ? "8.0.2" : "7.0.3"} build=build-2238047${h.version} option=Release`,
      );
      this.#out.add(vmxPath(vm), ht + 1, `${iso(ht + 1)} In(05) vmx - Hostname=${h.fqdn}`);
    }
    this.#out.add(vmxPath(vm), t, text);
  }

  #stream(t: number, type: string, severity: string, user: string, desc: string): string {
    const k = this.#vcKey++;
    const f = this.#fleet;
    this.#out.add(
      PATHS.vcStream,
      t,
      `<14>1 ${iso5424(t + 20)} ${f.vcenter} vpxd 58650 - -  Event [${k}] [1-1] [${iso(t)}] [${type}] [${severity}] [${user}] [${type === "vim.event.EventEx" ? f.datacenter : ""}] [${k}] [${desc}]`,
    );
    return String(k);
  }

  /** The vCenter session of an account for the day (logged in at its first call). */
  #vcSession(account: Account, day: number, t: number): string {
    const key = `${account.name}\u0000${day}`;
    const known = this.#sessions.get(key);
    if (known) return known;
    const session = this.#rnd.uuid();
    this.#sessions.set(key, session);
    const lt = t - 5_000;
    const op = `${this.#rnd.hex(8)}-${this.#rnd.hex(2)}`;
    const tid = 4100 + this.#rnd.int(0, 90);
    const lro = this.#lro++;
    this.#out.add(
      PATHS.vpxd,
      lt,
      `${iso(lt)} info vpxd[${tid}] [Originator@6876 sub=vpxLro opID=${op}] [VpxLRO] -- BEGIN lro-${lro} -- SessionManager -- vim.SessionManager.login -- ${session}(${this.#rnd.uuid()})`,
    );
    this.#out.add(
      PATHS.vpxd,
      lt + 60,
      `${iso(lt + 60)} info vpxd[${tid}] [Originator@6876 sub=User opID=${op}] User ${account.name}@${account.ip} logged in as ${account.agent}`,
    );
    this.#out.add(
      PATHS.vpxd,
      lt + 70,
      `${iso(lt + 70)} info vpxd[${tid}] [Originator@6876 sub=vpxLro opID=${op}] [VpxLRO] -- FINISH lro-${lro}`,
    );
    this.#stream(
      lt + 80,
      "vim.event.UserLoginSessionEvent",
      "info",
      account.name,
      `User ${account.name}@${account.ip} logged in as ${account.agent}`,
    );
    return session;
  }

  /** vCenter's event burst filter: true when the event is kept out of the stream. */
  #burst(vm: Vm, user: string, t: number): boolean {
    const key = `${vm.name}\u0000${user}`;
    let b = this.#bursts.get(key);
    if (!b) {
      b = { times: [] };
      this.#bursts.set(key, b);
    }
    if (b.active && t - b.active.last > BURST_WINDOW_MS) this.#endBurst(vm, user, key, b);
    if (b.active) {
      b.active.count++;
      b.active.last = t;
      return true;
    }
    b.times.push(t);
    while (b.times.length && t - (b.times[0] ?? t) > BURST_WINDOW_MS) b.times.shift();
    if (b.times.length > BURST_LIMIT) {
      b.times.length = 0;
      b.active = { start: t, last: t, count: 1 };
      this.#active.add(key);
      this.#stream(
        t + 1,
        "vim.event.EventEx",
        "info",
        user,
        `Event burst of com.vmware.vc.guestOperations.GuestOperation started on Virtual machine ${vm.name}`,
      );
      return true;
    }
    return false;
  }

  #endBurst(vm: Vm, user: string, key: string, b: Burst): void {
    const a = b.active;
    if (!a) return;
    b.active = undefined;
    this.#active.delete(key);
    const t = a.last + BURST_WINDOW_MS;
    this.#stream(
      t,
      "vim.event.EventEx",
      "info",
      user,
      `Event burst of com.vmware.vc.guestOperations.GuestOperation compressed: ${a.count} events on Virtual machine ${vm.name} since ${iso(a.start)}`,
    );
    this.#stream(
      t + 1,
      "vim.event.EventEx",
      "info",
      user,
      `Event burst of com.vmware.vc.guestOperations.GuestOperation ended on Virtual machine ${vm.name}`,
    );
  }

  run(run: Run): void {
    const rnd = this.#rnd;
    const h = run.host;
    const vm = run.vm;
    const direct = run.via === "direct";
    let session: string | undefined;
    let sid: string | undefined;
    let clientOp = parseInt(rnd.hex(7), 16);
    if (direct) {
      sid = rnd.hex(8);
      const lt = run.start - 2_000 + h.skew;
      const op = rnd.hex(8);
      this.#hostd(
        h,
        lt,
        "Vimsvc.HaSessionManager",
        { opId: op, sid },
        `Accepted password for user ${run.account.name} from ${run.account.ip} - session=${sid}-${rnd.uuid().slice(9)}`,
      );
      this.#hostd(
        h,
        lt + 2,
        "Vimsvc.ha-eventmgr",
        { opId: op, sid },
        `Event ${h.eventKey++} : User ${run.account.name}@${run.account.ip} logged in as ${run.account.agent}`,
      );
    } else {
      session = this.#vcSession(run.account, run.day, run.start);
    }
    let t = run.start;
    for (const api of run.calls) {
      const info = methodByApi(api);
      if (!info) continue;
      const label = eventLabel(info);
      const keys: string[] = [];
      const formats: string[] = [];
      let verified = true;
      const format = (name: string, ok: boolean): void => {
        formats.push(ok ? name : `${name}:I`);
        if (!ok) verified = false;
      };
      const user = direct ? run.account.name : run.account.name;
      const hostUser = direct ? run.account.name : `vpxuser:${run.account.name}`;
      const hostT = t + 30;
      const duration = 20 + rnd.next() * 130;
      const upload = api === "InitiateFileTransferToGuest" ? 200 + rnd.next() * 8_000 : 0;
      const done = hostT + duration;
      const eventTrue = done + upload;
      let hidden = false;
      let gap = false;

      if (run.failedAuth) {
        // the guest refused the credentials: vCenter's authentication-failure event ([I] text)
        const at = done + 100 + rnd.next() * 500;
        const k = this.#stream(
          at,
          "vim.event.EventEx",
          "warning",
          user,
          `Guest operation authentication failed for Virtual machine ${vm.name}.`,
        );
        keys.push(`vc|${k}`);
        format("vc-stream", false);
      } else {
        // vCenter: the LRO around the call
        let vmxOp: string;
        let lroId: number | undefined;
        if (!direct) {
          const op = `${rnd.hex(8)}-01`;
          lroId = this.#lro++;
          const tid = 4100 + rnd.int(0, 90);
          this.#out.add(
            PATHS.vpxd,
            t,
            `${iso(t)} info vpxd[${tid}] [Originator@6876 sub=vpxLro opID=${op}] [VpxLRO] -- BEGIN lro-${lroId} -- guestOperations${info.manager} -- vim.vm.guest.${info.manager}.${info.method} -- ${session}(${rnd.uuid()})`,
          );
          this.#out.add(
            PATHS.vpxd,
            done + 15,
            `${iso(done + 15)} info vpxd[${tid}] [Originator@6876 sub=vpxLro opID=${op}] [VpxLRO] -- FINISH lro-${lroId}`,
          );
          keys.push(`lro|lro-${lroId}`);
          format("vpxd", info.manager === "FileManager");
          vmxOp = `${op}-${rnd.hex(2)}-${rnd.hex(4)}`;
        } else {
          vmxOp = (clientOp++).toString(16).padStart(8, "0");
        }
        // vmware.log: the Vigor request and its response
        const seq = (vm.seq += rnd.int(3, 9));
        this.#vmx(
          vm,
          h,
          hostT + 5 + h.skew,
          `${iso(hostT + 5 + h.skew)} In(05) vmx - VigorTransportProcessClientPayload: opID=${vmxOp} seq=${seq}: Receiving GuestOps.${vmxName(info)} request.`,
        );
        this.#vmx(
          vm,
          h,
          done + h.skew,
          `${iso(done + h.skew)} In(05) vcpu-${rnd.int(0, 1)} - VigorTransport_ServerSendResponse opID=${vmxOp} seq=${seq}: Completed GuestOps request with messages.`,
        );
        keys.push(`vmx|${vmxOp}|${seq}`);
        format("vmx", VERIFIED_VMX.has(api));
        // hostd: the event line (7.x carries the opID and user), the file path of a transfer
        const ek = h.eventKey++;
        const evT = eventTrue + h.skew;
        const wrote = this.#hostd(
          h,
          evT,
          "Vimsvc.ha-eventmgr",
          h.version === 7 ? { opId: vmxOp, ...(sid ? { sid } : {}), user: hostUser } : {},
          `Event ${ek} : Guest operation ${label} performed on Virtual machine ${vm.name}.`,
        );
        if (wrote) {
          keys.push(`hostd|${h.fqdn}|${ek}`);
          format(this.#hostdFormat(h), VERIFIED_HOSTD.has(api));
          if (info.transfer && run.paths) {
            const path = info.transfer === "to-guest" ? run.paths.to : run.paths.from;
            this.#hostd(
              h,
              evT + 70 + rnd.next() * 80,
              "Guestsvc.GuestFileHandler",
              {},
              `Guest File Path is ${path}`,
            );
          }
        } else gap = true;
        // vCenter's event, unless the call bypassed vCenter ([I]: what vCenter shows of a host event)
        if (!direct) {
          const created = eventTrue + 100 + rnd.next() * 800;
          if (this.#burst(vm, user, created)) hidden = true;
          else {
            const desc = `Guest operation ${label} performed on Virtual machine ${vm.name}.`;
            const k = this.#stream(created, "vim.event.EventEx", "info", user, desc);
            keys.push(`vc|${k}`);
            format("vc-stream", false);
            if (created >= this.#jsonFrom) {
              this.#out.add(
                PATHS.vcJson,
                created,
                JSON.stringify({
                  key: Number(k),
                  chainId: Number(k),
                  createdTime: iso(created),
                  userName: user,
                  datacenter: { name: this.#fleet.datacenter },
                  host: { name: h.fqdn },
                  vm: { name: vm.name, vm: { type: "VirtualMachine", value: vm.moref } },
                  eventTypeId: "com.vmware.vc.guestOperations.GuestOperation",
                  fullFormattedMessage: desc,
                }),
                true,
              );
              format("vc-json", false);
            }
          }
        }
      }
      this.#label({
        type: "operation",
        scenario: run.scenario,
        time: iso(hostT),
        host: h.fqdn,
        vm: vm.name,
        api,
        principal: run.account.name,
        via: run.via,
        outcome: run.failedAuth ? "failure" : "success",
        keys,
        formats,
        verified,
        ...(hidden ? { hidden: true } : {}),
        ...(gap ? { gap: true } : {}),
      });
      const pause =
        api === "ListProcessesInGuest" || run.failedAuth
          ? (run.pollMs ?? 2_000)
          : 50 + rnd.next() * 250;
      t = eventTrue + pause;
    }
    for (const key of [...this.#active]) {
      const b = this.#bursts.get(key);
      if (b && key.startsWith(`${vm.name}\u0000`))
        this.#endBurst(vm, key.slice(vm.name.length + 1), key, b);
    }
  }

  /** The local midnight after day `day` minus a margin: no later run writes before it. */
  safeBefore(day: number): number {
    return (this.#fleet.dayStarts[day + 1] ?? Number.POSITIVE_INFINITY) - 10 * 60_000;
  }

  /** Calendar facts (for the summary). */
  date(day: number): string {
    return dayInfo(this.#fleet, day).date;
  }
}
