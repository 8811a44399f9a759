import {
  type ConcentratorEntry,
  type Family,
  formatEndpoint,
  type NodeAddresses,
  type NodeConfigAnswer,
} from "@wgkex-edge/shared/parker";

/** What the edge knows of a concentrator: configured id/PoP/endpoints, reported interface. */
export interface ConcentratorView {
  readonly name: string;
  readonly id: number;
  readonly pop: string;
  readonly publicKey: string;
  readonly port: number;
  /** The concentrator's IPv4 on its Parker interface (the node's IPv4 next hop). */
  readonly address4: string;
  /** Its link-local address on that interface (the node's IPv6 next hop). */
  readonly address6: string;
  readonly endpoint4?: string | undefined;
  readonly endpoint6?: string | undefined;
}

/** The endpoint of the wanted family, else the other one: a node can use either. */
export function concentratorEntry(view: ConcentratorView, family: Family): ConcentratorEntry {
  const address = (family === 6 ? view.endpoint6 : view.endpoint4) ?? view.endpoint4 ?? view.endpoint6;
  if (address === undefined) throw new Error(`concentrator ${view.name} has no endpoint`);
  return {
    address4: view.address4,
    address6: view.address6,
    endpoint: formatEndpoint(address, view.port),
    pubkey: view.publicKey,
    id: view.id,
  };
}

export interface AnswerParts {
  readonly nonce: string;
  readonly now: number;
  /** The node's id: its allocation index (ffbs) or its public key (wgkex). */
  readonly id: number | string;
  readonly mtu: number;
  readonly concentrators: readonly ConcentratorEntry[];
  readonly addresses: NodeAddresses;
  readonly keepalive: number;
  readonly retry: number;
}

export function configAnswer(parts: AnswerParts): NodeConfigAnswer {
  const { routes: _, ...addresses } = parts.addresses;
  return {
    nonce: parts.nonce,
    time: Math.floor(parts.now / 1000),
    id: parts.id,
    mtu: parts.mtu,
    concentrators: parts.concentrators,
    ...addresses,
    wg_keepalive: parts.keepalive,
    retry: parts.retry,
  };
}
