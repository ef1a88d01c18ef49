/**
 * disallowed-method: a method outside the account's allowed set (a monitoring account listing files
 * or starting programs), and anyone pulling files out of a critical VM without the policy expecting
 * that very operation.
 */
import { methodByApi } from "../../../model/catalog.js";
import { defineRule } from "../../types.js";
import { isAttributed } from "../../group.js";
import { method, where, who } from "../../describe.js";

export const disallowedMethod = defineRule({
  meta: {
    id: "disallowed-method",
    label: "disallowed method",
    description:
      "A method outside the account's allowed set, or files pulled out of a critical VM by anyone the policy does not expect to.",
    severity: "medium",
    attack: ["T1675"],
    principal: "optional",
    requiresPolicy: true,
  },
  create(ctx) {
    return {
      onOperation(op) {
        const e = ctx.expectation(op);
        const pull = methodByApi(op.api)?.transfer === "from-guest" && e.critical;
        if (pull && !e.expected) {
          // Anyone, attributed or not: the collect step of stage-run-collect on a VM that matters.
          const path = op.guest?.path !== undefined ? ` (guest path ${op.guest.path})` : "";
          const because = e.why[0] ?? "the policy does not expect it";
          ctx.report({
            operation: op,
            key: "critical-pull",
            severity: "high",
            attack: ["T1005"],
            reason: `files pulled out of ${where(op)}, a VM of the ${e.tier ?? "critical"} tier, by ${who(op)} with ${method(op)}${path}: ${because}`,
          });
          return;
        }
        if (isAttributed(op) && e.account && !e.checks.method.ok) {
          ctx.report({
            operation: op,
            key: `method:${method(op)}`,
            dependsOnPrincipal: true,
            reason: `${who(op)} (role ${e.account.account.role}) ran ${method(op)} on ${where(op)}, a method outside its allowed set: ${e.checks.method.reason}`,
          });
        }
      },
    };
  },
});
