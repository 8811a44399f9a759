import type { Guest } from "./guest.ts";

/** What the world's gateway and nodes need of it (world.ts implements it; no import cycle). */
export interface WorldContext {
  /** The world directory: the same path on the host and in the guest. */
  readonly dir: string;
  readonly id: string;
  /** The edge as the guest reaches it. */
  readonly edgeUrl: string;
  readonly guest: Guest;
}
