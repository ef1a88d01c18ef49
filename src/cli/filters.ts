/**
 * What the operation filters of `events` add to account matching, and what they say when they
 * leave nothing: a bare user (`svc-aria`) matches that user in any domain (`CORP\svc-aria`,
 * `svc-aria@corp.example`); a filter that matched none of the operations read says so on stderr,
 * with the accounts it could have matched, instead of an empty result that looks like "no activity".
 */
import type { Operation, Principal } from "../model/operation.js";
import { escapeTerminal } from "../report/escape.js";
import { globMatch } from "../shared/glob.js";

/** `pattern` names no domain (no `\` and no `@`) and matches the principal's user name. */
export function bareAccountMatches(principal: Principal, pattern: string): boolean {
  const wanted = pattern.trim().toLowerCase();
  if (wanted === "" || /[\\@]/.test(wanted) || principal.user === "") return false;
  return globMatch(wanted, principal.user.toLowerCase());
}

/** The stderr note when filters left nothing of `all`, else undefined. */
export function filteredToNothing(
  given: Readonly<Record<string, string>>,
  seen: AccountTally,
  selected: number,
): string | undefined {
  const names = Object.keys(given);
  const all = seen.operations;
  if (names.length === 0 || selected > 0 || all === 0) return undefined;
  const lines = [
    `guestops: note: the filters (${names.map((k) => `--${k} ${escapeTerminal(given[k] ?? "")}`).join(", ")}) matched none of the ${all} operation${all === 1 ? "" : "s"} read`,
  ];
  if (given["account"] !== undefined) {
    const top = [...seen.accounts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5);
    lines.push(
      `  accounts seen: ${top.map(([n, c]) => `${escapeTerminal(n)} (${c})`).join(", ")}${seen.accounts.size > top.length ? ", …" : ""}`,
    );
  }
  return lines.join("\n");
}

/**
 * Operations read and, when `byAccount` (an `--account` filter is given: the note then lists the
 * accounts seen), their accounts (display name, else the level), counted as they stream by.
 */
export class AccountTally {
  operations = 0;
  readonly accounts = new Map<string, number>();

  constructor(private readonly byAccount: boolean) {}

  add(op: Operation): void {
    this.operations++;
    if (!this.byAccount) return;
    const p = op.attribution.principal;
    const name = p ? p.display : op.attribution.level;
    this.accounts.set(name, (this.accounts.get(name) ?? 0) + 1);
  }
}
