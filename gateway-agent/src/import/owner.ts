/**
 * Whose wgkex.yaml this is. Every worker has its own copy, identical but for `externalName`
 * (the name v2 answers send nodes to). That name goes to exactly one gateway, the file's
 * owner; the others only get a guess in a comment. When `--gateway` and `externalName`
 * disagree, the name is given to nobody: a gateway answering with another gateway's name
 * would send every new node to the wrong machine.
 */
import { externalAddressProblem } from "@wgkex-edge/shared";
import { describe, fail, GATEWAY_NAME, type ImportedGateway, type WgkexFile } from "./wgkex-yaml.ts";

const firstLabel = (name: string): string => name.toLowerCase().split(".")[0] ?? "";

/** Find the file's gateway (adding it when wgkex had no workers) and map externalName to it. */
export function assignOwner(file: WgkexFile, gateway: string | undefined): ImportedGateway | undefined {
  const { raw, gateways, mapped, unmapped } = file;
  const externalName = raw.externalName;
  if (externalName !== undefined && externalName !== null && typeof externalName !== "string") {
    fail("externalName", `must be a host name such as gw04.ext.ffmuc.net, not ${describe(externalName)}`);
  }
  const extLabel = typeof externalName === "string" ? firstLabel(externalName) : undefined;
  /** The worker externalName names (its first label is the worker's). */
  const named =
    extLabel === undefined ? undefined : gateways.find((g) => g.worker && firstLabel(g.worker) === extLabel);
  let owner: ImportedGateway | undefined;
  if (gateway !== undefined) {
    owner = gateways.find((g) => g.name === gateway || g.worker === gateway);
    if (!owner) {
      if (gateways.length > 0) {
        fail(
          "--gateway",
          `"${gateway}" is none of the workers (${gateways.map((g) => `${g.name} = ${g.worker}`).join(", ")})`,
        );
      }
      if (!GATEWAY_NAME.test(gateway)) fail("--gateway", "must be 1-32 characters of a-z, 0-9 and '-'");
    }
  } else {
    owner = named;
  }
  if (gateways.length === 0) {
    // wgkex without workers: every worker had weight 1. We need at least the gateway of this file.
    const name = gateway ?? (extLabel && GATEWAY_NAME.test(extLabel) ? extLabel : undefined);
    if (name === undefined) {
      fail("workers", "is empty and there is no externalName to name this gateway after; pass --gateway NAME");
    }
    owner = {
      name,
      worker: undefined,
      weight: 1,
      location: undefined,
      externalAddress: undefined,
      externalGuess: undefined,
    };
    gateways.push(owner);
    unmapped.push(
      `workers: none configured (wgkex weighs every worker 1); the edge lists only "${name}": add your other gateways to gateways = [...]`,
    );
  }
  if (typeof externalName !== "string") {
    unmapped.push("externalName: not set (broker-only file?); every agent's external_address is a placeholder");
  } else if (owner === undefined) {
    unmapped.push(
      `externalName ${externalName}: matches none of the workers by its first label; pass --gateway NAME to say whose file this is`,
    );
  } else if (named !== undefined && named !== owner) {
    // --gateway gw05 with gw04's file: gw05 must not answer with gw04's name.
    guessFrom(externalName, named, gateways);
    unmapped.push(
      `externalName ${externalName} names worker ${named.worker} (gateway "${named.name}"), but --gateway says this file is "${owner.name}"'s: not used for "${owner.name}"; run import-wgkex with "${owner.name}"'s own wgkex.yaml, or fill in its external_address`,
    );
  } else {
    const problem = externalAddressProblem(externalName);
    if (problem !== undefined) {
      unmapped.push(`externalName ${externalName}: ${problem}; external_address of "${owner.name}" is a placeholder`);
    } else {
      owner.externalAddress = externalName;
      mapped.push(`externalName ${externalName} -> external_address of gateway "${owner.name}"`);
      if (named === owner) guessFrom(externalName, owner, gateways);
    }
  }
  return owner;
}

/** gw04.ext.ffmuc.net -> probably gw05.ext.ffmuc.net for gw05 (a comment, never a value). */
function guessFrom(externalName: string, of: ImportedGateway, gateways: ImportedGateway[]): void {
  const dot = externalName.indexOf(".");
  if (dot === -1) return;
  const rest = externalName.slice(dot);
  for (const g of gateways) {
    if (g !== of && g.externalAddress === undefined) g.externalGuess = `${firstLabel(g.worker ?? g.name)}${rest}`;
  }
}
