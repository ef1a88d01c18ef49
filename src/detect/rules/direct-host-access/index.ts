/**
 * direct-host-access: guest operations made straight to an ESXi host rather than through vCenter:
 * a session from an address that is neither loopback nor a vCenter, a host-local account (`root`,
 * `dcui`, local users), a Host Client (`esxui-`) or ESXi shell (`vim-cmd-`) opID, and operations
 * with no vpxd record although vpxd.log covers that time (UNC3886's stolen-vpxuser pattern).
 */
import { maxSeverity, type Severity } from "../../../model/alert.js";
import type { Operation } from "../../../model/operation.js";
import type { ObservationKind } from "../../../model/record.js";
import type { CoverageSpan } from "../../types.js";
import { defineRule } from "../../types.js";
import { isAttributed } from "../../group.js";
import { method, where, who } from "../../describe.js";

interface Fact {
  readonly text: string;
  readonly severity: Severity;
  /** The fact rests on who the principal is (an inferred principal weakens it). */
  readonly principal: boolean;
}

/** Client families that talk to ESXi directly, from the opID shape. */
const DIRECT_OPID: readonly { readonly prefix: string; readonly client: string }[] = [
  { prefix: "esxui-", client: "the ESXi Host Client" },
  { prefix: "vim-cmd-", client: "the ESXi shell (vim-cmd)" },
];

const VCENTER_KINDS: ReadonlySet<ObservationKind> = new Set<ObservationKind>([
  "vpxd.lro",
  "vpxd.lro-end",
  "vpxd.lro-error",
  "vc.event",
  "vc.auth-failure",
  "vc.burst",
]);

const sameName = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined || a.toLowerCase() === b.toLowerCase();

/** A vpxd span covering the operation's time on its vCenter (any vCenter when either is unknown). */
function vpxdSpanCovering(
  op: Operation,
  coverage: readonly CoverageSpan[],
): CoverageSpan | undefined {
  if (op.time === undefined) return undefined;
  const t = Date.parse(op.time);
  return coverage.find(
    (s) =>
      s.format === "vpxd" &&
      Date.parse(s.start) <= t &&
      t <= Date.parse(s.end) &&
      sameName(s.vcenter, op.vcenter),
  );
}

export const directHostAccess = defineRule({
  meta: {
    id: "direct-host-access",
    label: "direct host access",
    description:
      "Guest operations made straight to an ESXi host rather than through vCenter (source address, host-local account, Host Client or shell opID, no vpxd record).",
    severity: "high",
    attack: ["T1675", "T1078.003"],
    principal: "optional",
  },
  create(ctx) {
    return {
      onOperation(op) {
        const facts: Fact[] = [];
        const { origin, attribution } = op;
        const principal = isAttributed(op) ? attribution.principal : undefined;
        const viaVcenter = origin.via === "vcenter";

        if (!viaVcenter && origin.sourceIp !== undefined) {
          if (!ctx.queries.isVcenterAddress(ctx.policy, origin.sourceIp).ok) {
            facts.push({
              text:
                principal?.kind === "vpxuser"
                  ? `vCenter's own account vpxuser logged in from ${origin.sourceIp}, neither loopback nor a vCenter address: the UNC3886 pattern of stolen vpxuser credentials`
                  : `the ${principal ? `${principal.display} ` : ""}session came from ${origin.sourceIp}, neither loopback nor a vCenter address`,
              severity: "high",
              principal: false,
            });
          }
        }
        if (!viaVcenter && principal?.kind === "host-local") {
          facts.push({
            text: `it was made as the host-local account ${principal.display}`,
            severity: "high",
            principal: true,
          });
        }
        const opId = op.opId?.toLowerCase();
        const shape = DIRECT_OPID.find((d) => opId?.startsWith(d.prefix));
        if (shape && op.opId !== undefined) {
          facts.push({
            text: `its opID ${op.opId} is the shape ${shape.client} uses`,
            severity: "high",
            principal: false,
          });
        }
        // Only host-side sightings can lack their vpxd record: a vCenter event or LRO means
        // vCenter saw the call.
        const seenByVcenter = op.observations.some((o) => VCENTER_KINDS.has(o.kind));
        const seenOnHost = op.observations.some((o) => !VCENTER_KINDS.has(o.kind));
        const span =
          viaVcenter || seenByVcenter || !seenOnHost
            ? undefined
            : vpxdSpanCovering(op, ctx.coverage);
        if (span) {
          facts.push({
            text: `vpxd.log${span.vcenter !== undefined ? ` of ${span.vcenter}` : ""} covers ${span.start} to ${span.end} but holds no record of this operation`,
            severity: "medium",
            principal: false,
          });
        }
        if (facts.length === 0) return;
        const severity = facts.reduce<Severity>((s, f) => maxSeverity(s, f.severity), "info");
        ctx.report({
          operation: op,
          key: "direct",
          severity,
          dependsOnPrincipal: facts.every((f) => f.principal),
          reason: `${who(op)} ran ${method(op)} on ${where(op)} straight to the host, not through vCenter: ${facts.map((f) => f.text).join("; ")}`,
        });
      },
    };
  },
});
