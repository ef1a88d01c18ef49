/**
 * Account names in the policy are normalised exactly as attribution normalises the accounts it
 * finds in logs, so `user@domain` in a log matches `DOMAIN\user` in the policy and vice versa.
 */
import type { Principal } from "../model/operation.js";

/**
 * Normalises an account spelling: case-insensitive, `user@domain` ≡ `DOMAIN\user`, a `vpxuser:`
 * prefix stripped (the call came via vCenter). Interim local copy of attribution's normaliser.
 */
export function normaliseAccount(raw: string): Principal {
  const display = raw.trim();
  let text = display;
  let viaVcenter = false;
  if (/^vpxuser:/i.test(text)) {
    viaVcenter = true;
    text = text.slice("vpxuser:".length).trim();
  }
  if (text === "" && viaVcenter) {
    return { id: "vpxuser", display, user: "vpxuser", kind: "vpxuser" };
  }
  let domain: string | undefined;
  let user = text;
  const slash = text.indexOf("\\");
  const at = text.lastIndexOf("@");
  if (slash > 0) {
    domain = text.slice(0, slash);
    user = text.slice(slash + 1);
  } else if (at > 0 && at < text.length - 1) {
    user = text.slice(0, at);
    domain = text.slice(at + 1);
  }
  user = user.toLowerCase();
  const dom = domain?.toLowerCase();
  const id = dom ? `${dom}\\${user}` : user;
  const kind: Principal["kind"] =
    /^vpxd-extension-|^vsphere-webclient-|^vsan-health-|^wcp-|^machine-/i.test(user) &&
    (dom === undefined || dom === "vsphere.local")
      ? "vcenter-solution"
      : user === "vpxuser"
        ? "vpxuser"
        : !dom && /^(root|dcui)$/.test(user)
          ? "host-local"
          : "person";
  return dom ? { id, display, domain: dom, user, kind } : { id, display, user, kind };
}
