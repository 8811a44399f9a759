import { isPublicKey, type PeerEntry, peerEntry } from "@wgkex-edge/shared";
import type { UnappliedEntry } from "../dataplane/changes.ts";

/**
 * What the agent can still use of a frame that did not parse:
 * - `peers`: a frame whose entries all carry a seq and a key; the ones it cannot apply (an
 *   `op` a newer edge added, a field it does not know) are reported as failed in the ack, so
 *   the ack, which covers their seq, says that they were not applied;
 * - `lost`: a frame that carried changes or the desired set, and not even which keys: no ack
 *   may pass it, so the session starts over from the last applied seq;
 * - `ignore`: a frame type this agent does not know (nothing of the desired set in it).
 */
export type Salvage =
  | { readonly kind: "peers"; readonly entries: PeerEntry[]; readonly unapplied: UnappliedEntry[] }
  | { readonly kind: "lost"; readonly why: string }
  | { readonly kind: "ignore" };

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function unappliedReason(entry: Record<string, unknown>): string {
  const extra = Object.keys(entry).filter((k) => k !== "seq" && k !== "public_key" && k !== "op");
  if (entry.op !== "add" && entry.op !== "remove")
    return `not applied: this agent does not know op ${JSON.stringify(entry.op) ?? "(none)"} (upgrade wgkex-agent)`;
  return `not applied: this agent does not know field${extra.length > 1 ? "s" : ""} ${extra.join(", ")} (upgrade wgkex-agent)`;
}

/** Pure: sort a frame that failed the strict schema (`reason`, from zod) into what can be used. */
export function salvageFrame(text: string, reason: string): Salvage {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: "lost", why: reason };
  }
  const frame = (data ?? {}) as Record<string, unknown>;
  if (frame.type === "snapshot") return { kind: "lost", why: `snapshot page: ${reason}` };
  if (frame.type !== "peers") return { kind: "ignore" };
  if (!Array.isArray(frame.entries) || frame.entries.length === 0) return { kind: "lost", why: `peers: ${reason}` };
  const entries: PeerEntry[] = [];
  const unapplied: UnappliedEntry[] = [];
  for (const raw of frame.entries as unknown[]) {
    const parsed = peerEntry.safeParse(raw);
    if (parsed.success) {
      entries.push(parsed.data);
      continue;
    }
    const entry = (raw ?? {}) as Record<string, unknown>;
    if (
      typeof raw !== "object" ||
      !isSeq(entry.seq) ||
      typeof entry.public_key !== "string" ||
      !isPublicKey(entry.public_key)
    )
      return { kind: "lost", why: `peers: an entry without a valid seq and key (${reason})` };
    unapplied.push({ seq: entry.seq, public_key: entry.public_key, reason: unappliedReason(entry) });
  }
  return { kind: "peers", entries, unapplied };
}
