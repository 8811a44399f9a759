import { gatewayNameSchema } from "@wgkex-edge/shared";
import { z } from "zod";

/**
 * Where a gateway's session stands. `awaiting-hello`: accepted, not yet brought up to date.
 * `live`: welcomed and caught up, so it receives changes as they are committed.
 */
export const SESSION_STATES = ["awaiting-hello", "live"] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/**
 * The one thing a socket carries across hibernation (serializeAttachment): everything else
 * about a connection is derived from it or from storage. Parsed, never cast, on the way out.
 */
export const socketAttachmentSchema = z.object({
  gateway: gatewayNameSchema,
  state: z.enum(SESSION_STATES),
  connectedAt: z.number().int().min(0),
});
export type SocketAttachment = z.infer<typeof socketAttachmentSchema>;

/** The attachment a socket was given, or undefined when it has none or not ours. */
export function parseAttachment(value: unknown): SocketAttachment | undefined {
  const parsed = socketAttachmentSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
