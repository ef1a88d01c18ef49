/**
 * Account names in the policy are matched exactly as attribution normalises the accounts it finds
 * in logs (`attribute/identity.ts`): `user@domain` ≡ `DOMAIN\user`, case-insensitive, a NetBIOS
 * domain ≡ the DNS domain it is the first label of, `vpxuser:` stripped. On top of that the policy's
 * `domains:` alias groups name further equivalences (`CORP` ≡ `ad.example.com`).
 */
import { accountMatches, normaliseAccount } from "../attribute/identity.js";
import type { Principal } from "../model/operation.js";

export { normaliseAccount };

/** The principal with its domain replaced by the alias group's canonical name. */
function aliased(aliases: ReadonlyMap<string, string>, p: Principal): Principal {
  const canon = p.domain === undefined ? undefined : aliases.get(p.domain);
  if (canon === undefined || canon === p.domain) return p;
  return { ...p, domain: canon, id: `${canon}\\${p.user}` };
}

/** Account id (`domain\user`, lower case) with the domain alias applied. */
export function canonicalAccount(
  aliases: ReadonlyMap<string, string>,
  raw: string,
): { id: string; user: string; domain: string | undefined } {
  const p = aliased(aliases, normaliseAccount(raw));
  return { id: p.id, user: p.user, domain: p.domain };
}

/** Whether a principal is the account a policy pattern names (globs allowed; see accountMatches). */
export function principalMatches(
  aliases: ReadonlyMap<string, string>,
  principal: Principal,
  pattern: string,
): boolean {
  if (accountMatches(principal, pattern)) return true;
  if (aliases.size === 0) return false;
  const wanted = normaliseAccount(pattern);
  const canon = wanted.domain === undefined ? undefined : aliases.get(wanted.domain);
  const canonPattern = canon === undefined ? pattern : `${canon}\\${wanted.user}`;
  return accountMatches(aliased(aliases, principal), canonPattern);
}
