/**
 * sensitive-vm: a VM of the `critical` tier touched by an account not allowed on it; a critical VM
 * touched by a principal guestops could not attribute is a finding of its own.
 */
import { defineRule } from "../../types.js";
import { isAttributed } from "../../group.js";
import { method, where, who } from "../../describe.js";

export const sensitiveVm = defineRule({
  meta: {
    id: "sensitive-vm",
    label: "critical VM",
    description:
      "A VM of the critical tier touched by an account not allowed on it, or by a principal that could not be attributed.",
    severity: "high",
    attack: ["T1675"],
    principal: "optional",
    requiresPolicy: true,
  },
  create(ctx) {
    return {
      onOperation(op) {
        const e = ctx.expectation(op);
        if (!e.critical) return;
        const tier = e.tier ?? "critical";
        if (isAttributed(op)) {
          if (e.checks.vm.ok) return;
          ctx.report({
            operation: op,
            key: "not-allowed",
            dependsOnPrincipal: true,
            reason: `${who(op)} ran ${method(op)} on ${where(op)}, a VM of the ${tier} tier this account is not allowed on: ${e.checks.vm.reason}`,
          });
          return;
        }
        ctx.report({
          operation: op,
          key: "unattributed",
          reason: `${method(op)} ran on ${where(op)}, a VM of the ${tier} tier, by ${who(op)} (attribution ${op.attribution.level}: ${op.attribution.reason})`,
        });
      },
    };
  },
});
