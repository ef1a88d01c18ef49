/**
 * unexpected-account: a guest operation made by an account the policy does not expect to use guest
 * operations at all (AN0646 `ExpectedAdminUsers`).
 */
import { defineRule } from "../../types.js";
import { where, who } from "../../describe.js";

export const unexpectedAccount = defineRule({
  meta: {
    id: "unexpected-account",
    label: "unexpected account",
    description:
      "An account the policy does not list (and no approved window names) used guest operations.",
    severity: "medium",
    attack: ["T1675", "T1078"],
    principal: "required",
    requiresPolicy: true,
  },
  create(ctx) {
    return {
      onOperation(op) {
        const check = ctx.expectation(op).checks.account;
        if (check.ok) return;
        ctx.report({
          operation: op,
          key: "unexpected-account",
          reason: `${who(op)} ran ${op.api} on ${where(op)}, but the policy does not expect this account to use guest operations: ${check.reason}`,
        });
      },
    };
  },
});
