import type { ERROR_CODES } from "./protocol.ts";

/**
 * The session on one gateway socket, in the words both sides use. `protocol.ts` says what
 * the frames look like; this says where a socket stands and what an `error` frame means, so
 * the edge (which sends the codes) and the agent (which acts on them) cannot drift apart.
 *
 * ```
 *            open               welcome mode=replay
 *   closed ───────▶ greeting ─────────────────────────────▶ live
 *     ▲                │                                    ▲
 *     │                └─ welcome mode=snapshot ─▶ syncing ─┘ last snapshot page (done)
 *     └── close (from any state but stopped; reconnect with backoff)
 *   stop (an error whose verdict is "stop", a refused welcome, shutdown) ─▶ stopped, for good
 * ```
 *
 * The edge answers a hello in one synchronous step (welcome, backlog, live), so on its side a
 * socket is `greeting` until the hello and `live` after it; `syncing` is the agent's view
 * while it collects snapshot pages.
 */
export const SESSION_STATES = ["closed", "greeting", "syncing", "live", "stopped"] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export type SessionEvent = "open" | "welcome_replay" | "welcome_snapshot" | "snapshot_done" | "close" | "stop";

/** The transitions drawn above; events that do not apply leave the state as it is. */
export function nextSessionState(state: SessionState, event: SessionEvent): SessionState {
  if (state === "stopped" || event === "stop") return "stopped";
  switch (event) {
    case "open":
      return "greeting";
    case "close":
      return "closed";
    case "welcome_replay":
      return "live";
    case "welcome_snapshot":
      return "syncing";
    case "snapshot_done":
      return state === "syncing" ? "live" : state;
  }
}

/** The agent has been welcomed on this socket (frames it sends now count). */
export const isWelcomed = (state: SessionState): boolean => state === "syncing" || state === "live";

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What an agent does when the edge sends `error {code}` and closes:
 * - `retry`: reconnect with the usual backoff and resume from the last applied `seq`;
 * - `yield`: reconnect only after the longest backoff: another socket of the same gateway and
 *   domain took over (two agents configured alike must not take turns every few ms), or the
 *   gateway spent its frame budget (it must slow down, not hammer again);
 * - `stop`: end this domain's session; reconnecting cannot help until an operator changes
 *   the configuration. The data plane stays as it is.
 */
export type ErrorVerdict = "retry" | "yield" | "stop";

export interface ErrorMeaning {
  readonly verdict: ErrorVerdict;
  /** WebSocket close code the edge closes with after the error frame. */
  readonly closeCode: number;
  readonly meaning: string;
}

export const SESSION_ERRORS: Readonly<Record<ErrorCode, ErrorMeaning>> = {
  bad_frame: {
    verdict: "retry",
    closeCode: 1008,
    meaning: "the edge could not parse a frame the agent sent (the reason names the field)",
  },
  unsupported_version: {
    verdict: "stop",
    closeCode: 1008,
    meaning: "the edge does not speak the protocol version of the agent's hello",
  },
  not_configured: {
    verdict: "stop",
    closeCode: 1008,
    meaning: "the edge's configuration does not give this gateway the domain",
  },
  replaced: {
    verdict: "yield",
    closeCode: 4000,
    meaning: "a newer socket of the same gateway and domain took over",
  },
  over_budget: {
    verdict: "yield",
    closeCode: 1013,
    meaning: "the gateway sent more frames, bytes or hellos than its budget allows (gateway_budget)",
  },
  internal: {
    verdict: "retry",
    closeCode: 1011,
    meaning: "the edge failed handling a frame (it logged why); the agent resumes from its last applied seq",
  },
};

export const errorVerdict = (code: ErrorCode): ErrorVerdict => SESSION_ERRORS[code].verdict;
