import { spawn } from "node:child_process";
import { inNs, type Node, type V2Endpoint } from "./world.ts";

/** `ping -6 -c 1 -W 1` from a namespace without blocking the test process: true when answered. */
export function pingAsync(ns: string, target: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", ns, "ping", "-6", "-n", "-c", "1", "-W", "1", target], {
      stdio: "ignore",
    });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

export interface WatchdogOptions {
  /** How often the tunnel is checked (the firmware: every minute, 0–39 s jitter). */
  readonly everyMs: number;
  /** Failed checks in a row before the node registers again. */
  readonly downChecks: number;
  /** The overlay: the node's address on its VXLAN interface and the gateway's to ping. */
  readonly overlay: { readonly local: string; readonly remote: string };
}

/**
 * The Gluon client's watchdog (`ffmuc-mesh-vpn-wireguard-vxlan`, wgkex-facts.md §5),
 * compressed in time: when the tunnel does not work (the gateway's link-local over
 * WireGuard, and the overlay behind it), the node registers again (v2) and rebuilds its
 * tunnel from the answer, as the firmware does. It never touches the gateway.
 */
export class GluonWatchdog {
  readonly #node: Node;
  readonly #o: WatchdogOptions;
  #endpoint: V2Endpoint;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Registrations the watchdog made (the first one, by the test, not counted). */
  registrations = 0;

  constructor(node: Node, endpoint: V2Endpoint, options: WatchdogOptions) {
    this.#node = node;
    this.#endpoint = endpoint;
    this.#o = options;
  }

  /** Does the tunnel work: the gateway over WireGuard, then the overlay? */
  async tunnelWorks(): Promise<boolean> {
    const n = this.#node;
    return (
      (await pingAsync(n.ns, `${this.#endpoint.AllowedIPs[0]}%${n.wgIf}`)) &&
      (await pingAsync(n.ns, this.#o.overlay.remote))
    );
  }

  start(): void {
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #loop(): Promise<void> {
    let down = 0;
    while (!this.#stopped) {
      await new Promise((r) => setTimeout(r, this.#o.everyMs));
      if (this.#stopped) return;
      down = (await this.tunnelWorks()) ? 0 : down + 1;
      if (down < this.#o.downChecks || this.#stopped) continue;
      down = 0;
      try {
        this.#endpoint = await this.#node.registerV2();
        this.registrations++;
        this.#node.disconnect();
        this.#node.connect(this.#endpoint);
        inNs(this.#node.ns, [
          "ip",
          "-6",
          "addr",
          "add",
          `${this.#o.overlay.local}/64`,
          "dev",
          this.#node.vxIf,
          "nodad",
        ]);
      } catch {
        // the broker or the tunnel setup failed: the next round tries again, as the firmware does
      }
    }
  }
}
