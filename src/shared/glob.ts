/**
 * Name globs, shared by every place that matches a name a user or a policy gives against names
 * from logs (accounts, VMs, hosts): case-insensitive, `*` any run, `?` one character. No regex is
 * built from input, and the matcher is iterative, so a hostile pattern cannot make it explode.
 */

/** True when `pattern` has glob characters. */
export const hasGlob = (pattern: string): boolean => /[*?]/.test(pattern);

/**
 * Case-insensitive glob match: `*` any run of characters (including none), `?` exactly one.
 * Iterative with single-star backtracking: linear-ish, never exponential.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    const pc = p[pi];
    if (pc === "?" || (pc !== undefined && pc !== "*" && pc === t[ti])) {
      pi++;
      ti++;
    } else if (pc === "*") {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (p[pi] === "*") pi++;
  return pi === p.length;
}
