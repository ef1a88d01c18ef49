/**
 * outside-hours: a guest operation outside the hours that apply to the account (business hours for
 * an admin, the account's own allowed hours for automation, backup and monitoring accounts) and
 * outside every approved window covering it, in the site's time zone, holidays excluded.
 */
import { defineRule } from "../../types.js";
import { localTime, method, where, who } from "../../describe.js";

export const outsideHours = defineRule({
  meta: {
    id: "outside-hours",
    label: "outside hours",
    description:
      "A guest operation outside the hours that apply to the account and outside every approved window covering it.",
    severity: "medium",
    attack: ["T1675"],
    principal: "required",
    requiresPolicy: true,
  },
  create(ctx) {
    return {
      onOperation(op) {
        if (op.time === undefined) return; // no time, no judgement (counted as an issue upstream)
        const e = ctx.expectation(op);
        if (e.checks.hours.ok) return;
        ctx.report({
          operation: op,
          key: "outside-hours",
          reason: `${who(op)} ran ${method(op)} on ${where(op)} at ${localTime(op.time, e.site.site.zone)}: ${e.checks.hours.reason}`,
        });
      },
    };
  },
});
