import {
  type AddressVariant,
  type AgentFrame,
  type Dataplane,
  type EdgeFrame,
  type ErrorFrame,
  type HelloFrame,
  type InterfaceFrame,
  isWelcomed,
  nextSessionState,
  type PeerEntry,
  SESSION_ERRORS,
  type SessionEvent,
  type SessionState,
  type WelcomeFrame,
} from "@wgkex-edge/shared";
import type { Clock } from "../clock.ts";
import type { UnappliedEntry } from "../dataplane/changes.ts";
import type { Failure } from "../dataplane/peers.ts";
import type { Logger } from "../log.ts";
import type { ConnectionState } from "./connection.ts";
import { ackFrame, adoptedFrames, helloFrame, liveFrames, removedFrames, verifiedFrames } from "./frames.ts";
import { salvageFrame } from "./salvage.ts";

/** What the session needs of the socket (EdgeConnection). */
export interface SessionLink {
  send(frame: AgentFrame): boolean;
  /** A welcome arrived: the connection is healthy, reset the backoff. */
  welcomed(): void;
  delayNextReconnect(ms: number): void;
  /** Drop the socket and connect again (with backoff): the session starts over. */
  restart(): void;
  stop(): Promise<void>;
}

/** What the session hands to its domain. */
export interface SessionHandlers {
  /** Where the agent stands, asked at every (re)connect. */
  cursor(): { since: number; snapshot: boolean };
  /** The edge's head: set by a welcome (`force`, it may even go back), moved forward by live entries. */
  head(seq: number, force: boolean): void;
  welcomed(frame: WelcomeFrame): void;
  /** Changes to apply, and entries of the same frame the agent cannot apply (to report failed). */
  peers(entries: readonly PeerEntry[], receivedAt: number, unapplied: readonly UnappliedEntry[]): void;
  /** The full desired set, assembled from every page; `receivedAt` = the first page; Parker: each key's ranges. */
  snapshot(keys: string[], head: number, receivedAt: number, ranges?: ReadonlyMap<string, readonly string[]>): void;
  connection(open: boolean): void;
  /** The edge asks to verify keys (their nodes registered again): answer with `verified`. */
  verify(keys: readonly string[]): void;
  /** The session starts over from the last applied seq: drop the queued batches (the edge sends them again). */
  resync(): number;
}

export interface EdgeSessionOptions {
  readonly domain: string;
  readonly variant: AddressVariant;
  /** How this domain's nodes attach; the edge's welcome must say the same. */
  readonly dataplane: Dataplane;
  /** `wgkex-agent/<version>` for the hello. */
  readonly agent: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long to stay away after `error replaced` (the longest backoff). */
  readonly yieldMs: number;
  readonly handlers: SessionHandlers;
}

/**
 * One domain's session with the edge, in one place: the hello, the welcome (variant check,
 * head, mode), snapshot pages assembled into one desired set, what each error code means
 * (shared/src/session.ts) and every frame the agent sends. The socket underneath
 * (`EdgeConnection`) only carries frames and reconnects.
 */
export class EdgeSession {
  readonly #o: EdgeSessionOptions;
  #state: SessionState = "closed";
  #link: SessionLink | undefined;
  /** Snapshot pages so far: every key, with its ranges in a Parker domain. */
  #pages: Map<string, readonly string[] | undefined> | undefined;
  #pagesSince = 0;
  #refusal: string | undefined;
  #interface: InterfaceFrame | undefined;
  /** Set by `resync` until the socket is open again: frames of the old socket are not applied. */
  #discarding = false;

  constructor(options: EdgeSessionOptions) {
    this.#o = options;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Why this domain refuses to run (a welcome that contradicts the configuration). */
  get refusal(): string | undefined {
    return this.#refusal;
  }

  attach(link: SessionLink): void {
    this.#link = link;
  }

  hello(): HelloFrame {
    return helloFrame(this.#o.agent, this.#o.handlers.cursor());
  }

  /** The interface to announce after every welcome (set once provisioned). */
  setInterface(frame: InterfaceFrame): void {
    this.#interface = frame;
  }

  /** The socket opened, closed or is reconnecting. */
  transport(state: ConnectionState): void {
    const open = state === "open";
    if (open) this.#discarding = false;
    this.#to(open ? "open" : "close");
    if (!open) this.#pages = undefined;
    this.#o.handlers.connection(open);
  }

  /** Shutdown: frames that still arrive are ignored. */
  stop(): void {
    this.#to("stop");
  }

  onFrame(frame: EdgeFrame): void {
    if (this.#state === "stopped" || this.#discarding) return;
    switch (frame.type) {
      case "welcome":
        this.#welcome(frame);
        return;
      case "peers":
        this.#peers(frame.entries, []);
        return;
      case "verify":
        this.#o.handlers.verify(frame.keys);
        return;
      case "snapshot": {
        // Pages are taken even without a snapshot welcome: the set is what the edge says it is.
        if (this.#pages === undefined) {
          this.#pages = new Map();
          this.#pagesSince = this.#o.clock.now();
        }
        frame.keys.forEach((key, i) => {
          this.#pages!.set(key, frame.allowed_ips?.[i]);
        });
        if (!frame.done) return;
        const pages = this.#pages;
        this.#pages = undefined;
        this.#to("snapshot_done");
        const ranges = new Map([...pages].filter((e): e is [string, readonly string[]] => e[1] !== undefined));
        this.#o.handlers.snapshot(
          [...pages.keys()],
          frame.head,
          this.#pagesSince,
          ranges.size > 0 ? ranges : undefined,
        );
        return;
      }
      case "error":
        this.#error(frame);
        return;
    }
  }

  /**
   * A frame the shared schemas refused. A `peers` frame whose entries all name a seq and a
   * key is applied as far as it can be, the rest reported failed; a frame that carried
   * changes the agent cannot even name means no ack may pass it: start over.
   */
  badFrame(text: string, reason: string): void {
    if (this.#state === "stopped" || this.#discarding) return;
    const salvage = salvageFrame(text, reason);
    switch (salvage.kind) {
      case "peers":
        this.#o.logger.warn("entries of a peers frame cannot be applied; reporting them as failed", {
          count: salvage.unapplied.length,
          first: salvage.unapplied.slice(0, 3),
        });
        this.#peers(salvage.entries, salvage.unapplied);
        return;
      case "lost":
        this.resync(`a frame from the edge could not be used (${salvage.why})`);
        return;
      case "ignore":
        this.#o.logger.warn("ignoring a frame this agent does not know", { reason });
        return;
    }
  }

  /**
   * Start over from the last applied seq: drop what is queued, ignore the old socket's
   * frames, reconnect. Nothing after the last applied seq was acked, and nothing will be
   * until the edge has sent it again.
   */
  resync(why: string): void {
    if (this.#state === "stopped") return;
    this.#discarding = true;
    this.#pages = undefined;
    const dropped = this.#o.handlers.resync();
    this.#o.logger.error("starting the session over from the last applied seq", {
      why,
      since: this.#o.handlers.cursor().since,
      dropped_batches: dropped,
    });
    this.#link?.restart();
  }

  // ------------------------------------------------------------------ what the agent sends

  ack(seq: number, failed: readonly Failure[]): boolean {
    return this.#send(ackFrame(seq, failed));
  }

  /** The answer to `verify`. */
  verified(outcome: { ok: number; repaired: readonly string[]; failed: readonly Failure[] }): void {
    for (const frame of verifiedFrames(outcome)) this.#send(frame);
  }

  removed(entries: ReadonlyArray<{ key: string; reason: string }>, at: number): void {
    for (const frame of removedFrames(entries, at)) this.#send(frame);
  }

  live(keys: readonly string[]): void {
    for (const frame of liveFrames(keys)) this.#send(frame);
  }

  /**
   * Peers found on the interface that the edge did not give: only on a welcomed socket (the
   * edge refuses them before). False when not sent: the next pass reports them again.
   */
  adopted(keys: readonly string[]): boolean {
    if (!isWelcomed(this.#state) || keys.length === 0) return false;
    let sent = true;
    for (const frame of adoptedFrames(keys)) sent = this.#send(frame) && sent;
    return sent;
  }

  /** Load reports count only on a welcomed socket (they feed the v2 choice). */
  load(report: { connected: number; load: number; peers: number }): void {
    if (isWelcomed(this.#state)) this.#send({ type: "load", ...report });
  }

  // ------------------------------------------------------------------ internals

  #peers(entries: readonly PeerEntry[], unapplied: readonly UnappliedEntry[]): void {
    let head = 0;
    for (const e of entries) head = Math.max(head, e.seq);
    for (const e of unapplied) head = Math.max(head, e.seq);
    this.#o.handlers.head(head, false);
    this.#o.handlers.peers(entries, this.#o.clock.now(), unapplied);
  }

  #welcome(frame: WelcomeFrame): void {
    this.#link?.welcomed();
    const { domain, variant } = this.#o;
    if (frame.variant !== variant) {
      this.#refusal = `edge says domain ${domain} uses address variant "${frame.variant}" but domains.${domain}.variant is "${variant}": refusing to run this domain; fix the configuration on one side`;
      this.#o.logger.error(this.#refusal);
      this.#halt();
      return;
    }
    const dataplane = frame.dataplane ?? "batman";
    if (dataplane !== this.#o.dataplane) {
      this.#refusal = `edge says domain ${domain} is a ${dataplane} domain but domains.${domain}.mode is "${this.#o.dataplane}": refusing to run this domain; fix the configuration on one side (docs/parker.md)`;
      this.#o.logger.error(this.#refusal);
      this.#halt();
      return;
    }
    this.#o.handlers.head(frame.head, true);
    this.#to(frame.mode === "snapshot" ? "welcome_snapshot" : "welcome_replay");
    this.#o.logger.info("welcome", { mode: frame.mode, head: frame.head, since: this.#o.handlers.cursor().since });
    if (frame.mode === "snapshot") {
      this.#pages = new Map();
      this.#pagesSince = this.#o.clock.now();
    }
    if (this.#interface) this.#send(this.#interface);
    this.#o.handlers.welcomed(frame);
  }

  /** One line per error frame, saying what the edge meant and what the agent does about it. */
  #error(frame: ErrorFrame): void {
    const { verdict, meaning } = SESSION_ERRORS[frame.code];
    const fields = { code: frame.code, message: frame.message };
    if (verdict === "stop") {
      this.#o.logger.error(
        `edge refused domain ${this.#o.domain}: ${meaning}; not reconnecting until wgkex-agent restarts (the data plane stays as it is)`,
        fields,
      );
    } else {
      const then = verdict === "yield" ? `reconnecting in ${this.#o.yieldMs} ms` : "reconnecting with backoff";
      this.#o.logger.warn(`edge closed the session of domain ${this.#o.domain}: ${meaning}; ${then}`, fields);
    }
    switch (verdict) {
      case "stop":
        this.#halt();
        return;
      case "yield":
        this.#link?.delayNextReconnect(this.#o.yieldMs);
        return;
      case "retry":
        return; // the edge closes; the connection reconnects with its backoff
    }
  }

  #halt(): void {
    this.#to("stop");
    void this.#link?.stop();
  }

  #to(event: SessionEvent): void {
    this.#state = nextSessionState(this.#state, event);
  }

  #send(frame: AgentFrame): boolean {
    return this.#link?.send(frame) ?? false;
  }
}
