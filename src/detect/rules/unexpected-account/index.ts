/**
 * unexpected-account: a guest operation made by an account the policy does not expect to use guest
 * operations at all (AN0646 `ExpectedAdminUsers`), or by a listed account from a client address
 * outside the account's `sources`.
 */
import { defineRule } from "../../types.js";
import { method, where, who } from "../../describe.js";

export const unexpectedAccount = defineRule({
  meta: {
    id: "unexpected-account",
    label: "unexpected account",
    description:
      "An account the policy does not expect used guest operations, or a listed account was used from an address outside its allowed sources.",
    severity: "medium",
    attack: ["T1675", "T1078"],
    principal: "required",
    requiresPolicy: true,
  },
  create(ctx) {
    return {
      onOperation(op) {
        const { checks } = ctx.expectation(op);
        if (!checks.account.ok) {
          ctx.report({
            operation: op,
            key: "unexpected-account",
            reason: `${who(op)} ran ${method(op)} on ${where(op)}, but the policy does not expect this account to use guest operations: ${checks.account.reason}`,
          });
          return;
        }
        if (!checks.source.ok) {
          ctx.report({
            operation: op,
            key: "unexpected-source",
            reason: `${who(op)} ran ${method(op)} on ${where(op)} from ${op.origin.sourceIp ?? "an unknown address"}, outside the account's allowed sources: ${checks.source.reason}`,
          });
        }
      },
    };
  },
});
