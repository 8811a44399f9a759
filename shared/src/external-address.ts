import { z } from "zod";

/**
 * Why a gateway's external address must be a DNS name: it is what v2 answers carry as
 * `Endpoint.Address` (wgkex's `externalName`), and FFMUC's Gluon client
 * (ffmuc-mesh-vpn-wireguard-vxlan) resolves it with `nslookup` before it configures the
 * tunnel; given an IP literal, that lookup fails and the client gives up on the answer.
 */
export const EXTERNAL_ADDRESS_WHY =
  "FFMUC's Gluon client (ffmuc-mesh-vpn-wireguard-vxlan) runs nslookup on the v2 answer's Address and gives up on an IP literal";

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `value` cannot be a gateway's external address, or undefined when it is a DNS name. */
export function externalAddressProblem(value: string): string | undefined {
  const example = "e.g. gw04.ext.ffmuc.net";
  if (value.length === 0) return `must be this gateway's public DNS name, ${example}`;
  if (value.includes(":") || value.startsWith("[")) {
    return `must be a DNS name, not an IPv6 address or host:port (${example}): ${EXTERNAL_ADDRESS_WHY}`;
  }
  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  if (name.length > 253) return "must be a DNS name of at most 253 characters";
  const labels = name.split(".");
  if (labels.every((l) => /^\d+$/.test(l)) || /^\d+$/.test(labels.at(-1) ?? "")) {
    return `must be a DNS name, not an IPv4 address (${example}): ${EXTERNAL_ADDRESS_WHY}`;
  }
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) {
    return `must be a DNS name: "${bad}" is not a DNS label (1-63 characters of A-Z, a-z, 0-9 and '-', not at either end), ${example}`;
  }
  return undefined;
}

export const isExternalAddress = (value: unknown): value is string =>
  typeof value === "string" && externalAddressProblem(value) === undefined;

/** A gateway's external address (agent configuration): a DNS name, for the reason above. */
export const externalAddressSchema = z.string().superRefine((value, ctx) => {
  const problem = externalAddressProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});
