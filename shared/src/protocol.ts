import { z } from "zod";
import { addressVariantSchema } from "./address.ts";
import { publicKeySchema } from "./key.ts";
import { canonicalAddress, parseAddress } from "./parker/ip.ts";

/**
 * The edge <-> gateway agent WebSocket protocol. One socket per (gateway, domain); every
 * frame is one JSON text message. Both sides parse with these schemas and reject anything
 * else with the reason zod gives. See docs/protocol.md for the conversation.
 */
export const PROTOCOL_VERSION = 1;

/** Largest number of entries one frame may carry; the edge pages replays with it. */
export const MAX_ENTRIES_PER_FRAME = 1000;

/** How a domain's nodes attach to its gateways (docs/parker.md for `parker`). */
export const DATAPLANES = ["batman", "parker"] as const;
export type Dataplane = (typeof DATAPLANES)[number];

/** Ranges one Parker node may have: its IPv6 allocation and its IPv4 range, with room to spare. */
export const MAX_RANGES_PER_NODE = 4;

/**
 * Largest frame, in characters of its JSON text, that either side parses: 1,000 `removed`
 * entries with 500-character reasons fit. Anything longer is refused before `JSON.parse`.
 */
export const MAX_FRAME_CHARS = 1024 * 1024;

/** 10000-01-01T00:00:00Z: later times cannot be written as an ISO date, so no frame carries one. */
export const MAX_TIMESTAMP_MS = 253_402_300_800_000;

/** Sequence numbers are SQLite integers handed out by the domain's object, starting at 1. */
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const gatewayName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, {
  message: "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit",
});
const reason = z.string().max(500);
const timestamp = z.number().int().min(0).max(MAX_TIMESTAMP_MS); // milliseconds since the epoch

export const gatewayNameSchema = gatewayName;

// ---------------------------------------------------------------- agent -> edge

/** First frame on a socket: where the agent stands. `since` 0 or `snapshot` asks for the full set. */
export const helloFrame = z.strictObject({
  type: z.literal("hello"),
  v: z.literal(PROTOCOL_VERSION),
  agent: z.string().max(100),
  since: seq,
  snapshot: z.boolean().optional(),
});

/** Everything up to `seq` is installed, except the keys listed in `failed`. */
export const ackFrame = z.strictObject({
  type: z.literal("ack"),
  seq,
  failed: z
    .array(z.strictObject({ public_key: publicKeySchema, reason }))
    .max(MAX_ENTRIES_PER_FRAME)
    .optional(),
});

/** The gateway's WireGuard interface for this domain: what v2 answers send nodes to. */
export const interfaceFrame = z.strictObject({
  type: z.literal("interface"),
  public_key: publicKeySchema,
  port: z.number().int().min(1).max(65535),
  /** External name or address nodes connect to (wgkex's externalName). */
  address: z.string().min(1).max(253),
  /** The gateway's link-local address on its WireGuard interface, without prefix length. */
  link_address: z.string().regex(/^fe80::[0-9a-f:]+$/),
  /** Parker domains: the concentrator's IPv4 on that interface (the nodes' IPv4 next hop). */
  address4: z
    .string()
    .refine((a) => parseAddress(a)?.family === 4 && canonicalAddress(a) === a, {
      message: "must be an IPv4 address, e.g. 10.255.255.1",
    })
    .optional(),
});

/** Load report, every 60 s: connected peers (handshake < 3 min) here and across all domains. */
export const loadFrame = z.strictObject({
  type: z.literal("load"),
  connected: z.number().int().min(0),
  load: z.number().int().min(0),
  peers: z.number().int().min(0),
});

/** Keys with a recent handshake, so the edge keeps them past retention. */
export const liveFrame = z.strictObject({
  type: z.literal("live"),
  keys: z.array(publicKeySchema).max(MAX_ENTRIES_PER_FRAME),
});

/** Peers the agent removed on its own (stale cleanup), so receipts stay true. */
export const removedFrame = z.strictObject({
  type: z.literal("removed"),
  entries: z.array(z.strictObject({ public_key: publicKeySchema, reason, at: timestamp })).max(MAX_ENTRIES_PER_FRAME),
});

/**
 * Answer to `verify`: of the keys asked about, how many were in place, which ones the agent
 * had to install again (they were lost behind its back), and which ones it could not (with
 * the reason; a key it never got from the edge is one). Sent only in answer to `verify`,
 * so an edge that never sends `verify` never receives it.
 */
export const verifiedFrame = z.strictObject({
  type: z.literal("verified"),
  ok: z.number().int().min(0).max(MAX_ENTRIES_PER_FRAME),
  repaired: z.array(publicKeySchema).max(MAX_ENTRIES_PER_FRAME),
  failed: z
    .array(z.strictObject({ public_key: publicKeySchema, reason }))
    .max(MAX_ENTRIES_PER_FRAME)
    .optional(),
});

/**
 * Peers the agent found on its interface and did not install (a wgkex gateway taken over, a
 * peer set by hand): it keeps them and reports them, in pages, so the edge can record each
 * as a registration adopted from this gateway. Only after the welcome; the edge bounds and
 * re-validates what it takes (docs/protocol.md).
 */
export const adoptedFrame = z.strictObject({
  type: z.literal("adopted"),
  keys: z.array(publicKeySchema).min(1).max(MAX_ENTRIES_PER_FRAME),
});

export const agentFrame = z.discriminatedUnion("type", [
  helloFrame,
  ackFrame,
  interfaceFrame,
  loadFrame,
  liveFrame,
  removedFrame,
  verifiedFrame,
  adoptedFrame,
]);

// ---------------------------------------------------------------- edge -> agent

/** Answer to hello: how the edge will bring the agent up to date, and the domain's settings. */
export const welcomeFrame = z.strictObject({
  type: z.literal("welcome"),
  v: z.literal(PROTOCOL_VERSION),
  domain: z.string(),
  gateway: gatewayName,
  mode: z.enum(["replay", "snapshot"]),
  /** Highest sequence number at the time of the hello. */
  head: seq,
  variant: addressVariantSchema,
  /** How the domain's nodes attach: batman-adv over VXLAN (absent) or Parker's routed ranges. */
  dataplane: z.enum(DATAPLANES).optional(),
});

/** A node's ranges in a Parker domain (its IPv6 allocation, its IPv4 range): the agent re-validates them. */
const allowedIps = z
  .array(z.string().regex(/^[0-9a-fA-F:.]{2,45}\/\d{1,3}$/, { message: "must be a prefix such as 2001:db8::/64" }))
  .min(1)
  .max(MAX_RANGES_PER_NODE);

export const peerEntry = z.strictObject({
  seq,
  public_key: publicKeySchema,
  op: z.enum(["add", "remove"]),
  /** Parker domains, on "add": the node's ranges (peer allowed-ips and routes). */
  allowed_ips: allowedIps.optional(),
});
export type PeerEntry = z.infer<typeof peerEntry>;

/**
 * Changes in ascending `seq` order: replayed pages after a welcome in replay mode, then
 * live registrations. Acknowledge with the `seq` of the last entry once installed.
 */
export const peersFrame = z.strictObject({
  type: z.literal("peers"),
  entries: z.array(peerEntry).min(1).max(MAX_ENTRIES_PER_FRAME),
});

/**
 * One page of the full desired set. When `done`, the pages so far are everything this
 * gateway should have: the agent removes the peers it manages that were not listed,
 * installs the rest and acknowledges `head`.
 */
export const snapshotFrame = z
  .strictObject({
    type: z.literal("snapshot"),
    head: seq,
    keys: z.array(publicKeySchema).max(MAX_ENTRIES_PER_FRAME),
    /** Parker domains: each key's ranges, in the order of `keys`. */
    allowed_ips: z.array(allowedIps).max(MAX_ENTRIES_PER_FRAME).optional(),
    done: z.boolean(),
  })
  .refine((f) => f.allowed_ips === undefined || f.allowed_ips.length === f.keys.length, {
    message: "allowed_ips must have one entry per key",
    path: ["allowed_ips"],
  });

/**
 * A repair signal: nodes registered again although the gateway acknowledged their keys (a
 * node asks only when its tunnel is down). The agent makes sure each listed key it has from
 * the edge is installed (peer, route, FDB entry), installs what is missing, and answers with
 * `verified`. Sent only for keys the gateway acknowledged, after the frames that gave them,
 * at most once per key per minute. An agent that does not know this frame ignores it.
 */
export const verifyFrame = z.strictObject({
  type: z.literal("verify"),
  keys: z.array(publicKeySchema).min(1).max(MAX_ENTRIES_PER_FRAME),
});

/** What `error` frames may say; shared/src/session.ts gives each its meaning and close code. */
export const ERROR_CODES = [
  "bad_frame",
  "unsupported_version",
  "not_configured",
  "replaced",
  "over_budget",
  "internal",
] as const;

/** Sent before the edge closes a socket on purpose. */
export const errorFrame = z.strictObject({
  type: z.literal("error"),
  code: z.enum(ERROR_CODES),
  message: reason,
});

export const edgeFrame = z.discriminatedUnion("type", [
  welcomeFrame,
  peersFrame,
  snapshotFrame,
  verifyFrame,
  errorFrame,
]);

export type AgentFrame = z.infer<typeof agentFrame>;
export type EdgeFrame = z.infer<typeof edgeFrame>;
export type HelloFrame = z.infer<typeof helloFrame>;
export type AckFrame = z.infer<typeof ackFrame>;
export type InterfaceFrame = z.infer<typeof interfaceFrame>;
export type LoadFrame = z.infer<typeof loadFrame>;
export type LiveFrame = z.infer<typeof liveFrame>;
export type RemovedFrame = z.infer<typeof removedFrame>;
export type VerifiedFrame = z.infer<typeof verifiedFrame>;
export type VerifyFrame = z.infer<typeof verifyFrame>;
export type AdoptedFrame = z.infer<typeof adoptedFrame>;
export type WelcomeFrame = z.infer<typeof welcomeFrame>;
export type PeersFrame = z.infer<typeof peersFrame>;
export type SnapshotFrame = z.infer<typeof snapshotFrame>;
export type ErrorFrame = z.infer<typeof errorFrame>;

/**
 * A parsed frame, or why not: `unsupported_version` for a hello of another protocol version
 * (whatever else it carries), `bad_frame` for everything else.
 */
export type ParseResult<T> =
  | { ok: true; frame: T }
  | { ok: false; code: "bad_frame" | "unsupported_version"; reason: string };

const badFrame = (reason: string) => ({ ok: false, code: "bad_frame", reason }) as const;

function parseWith<T>(schema: z.ZodType<T>, text: unknown): ParseResult<T> {
  if (typeof text !== "string") return badFrame("frames must be JSON text messages, not binary");
  if (text.length > MAX_FRAME_CHARS) return badFrame(`frame is longer than ${MAX_FRAME_CHARS} characters`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return badFrame("frame is not valid JSON");
  }
  const version = helloVersion(data);
  if (version !== undefined && version !== PROTOCOL_VERSION) {
    return {
      ok: false,
      code: "unsupported_version",
      reason: `protocol version ${version} is not supported; this side speaks version ${PROTOCOL_VERSION}`,
    };
  }
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, frame: result.data };
  return badFrame(describeIssues(result.error));
}

/** The `v` of a hello, looked at before its other fields: another version may have other fields. */
function helloVersion(data: unknown): number | undefined {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return undefined;
  const frame = data as Record<string, unknown>;
  return frame.type === "hello" && typeof frame.v === "number" ? frame.v : undefined;
}

/**
 * "field.path: what is wrong" for every issue, so a log line says exactly what to fix. Takes
 * any zod error (classic or core, as validators such as @hono/zod-validator hand out).
 */
export function describeIssues(error: { readonly issues: readonly z.core.$ZodIssue[] }): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
        .join("");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

/** Parse a frame the agent sent; the reason names the offending field. */
export const parseAgentFrame = (text: unknown): ParseResult<AgentFrame> => parseWith(agentFrame, text);
/** Parse a frame the edge sent; the reason names the offending field. */
export const parseEdgeFrame = (text: unknown): ParseResult<EdgeFrame> => parseWith(edgeFrame, text);

/** Path of the gateway socket for one domain. */
export const gatewaySocketPath = (gateway: string, domain: string): string =>
  `/api/v1/gateways/${encodeURIComponent(gateway)}/domains/${encodeURIComponent(domain)}/socket`;
