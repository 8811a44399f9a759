import { gatewayNameSchema, type SessionState } from "@wgkex-edge/shared";
import { z } from "zod";

/**
 * Where a gateway's session stands on the edge, in the shared session vocabulary
 * (shared/src/session.ts): `greeting` until the hello, `live` once welcomed and caught up
 * (it then receives changes as they are committed). The edge answers a hello in one step,
 * so it never holds a session in `syncing`.
 */
export const EDGE_SESSION_STATES = ["greeting", "live"] as const satisfies readonly SessionState[];
export type EdgeSessionState = (typeof EDGE_SESSION_STATES)[number];

/**
 * The one thing a socket carries across hibernation (serializeAttachment): everything else
 * about a connection is derived from it or from storage. Parsed, never cast, on the way out.
 */
export const socketAttachmentSchema = z.object({
  gateway: gatewayNameSchema,
  state: z.enum(EDGE_SESSION_STATES),
  connectedAt: z.number().int().min(0),
});
export type SocketAttachment = z.infer<typeof socketAttachmentSchema>;

/** The attachment a socket was given, or undefined when it has none or not ours. */
export function parseAttachment(value: unknown): SocketAttachment | undefined {
  const parsed = socketAttachmentSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
