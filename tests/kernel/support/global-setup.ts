import type { TestProject } from "vitest/node";
import { missingPrerequisite } from "../../support/require-tool.ts";
import { guestPrerequisites } from "./guest.ts";
import { KernelWorld } from "./world.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The kernel world's directory; "" when the suite is skipped. */
    kernelWorld: string;
    kernelSkip: string;
  }
}

/** Boot the guest, start the edge and the gateway's agent once for every file of the suite. */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const skip = missingPrerequisite(guestPrerequisites());
  project.provide("kernelSkip", skip ?? "");
  if (skip) {
    project.provide("kernelWorld", "");
    return undefined;
  }
  const t0 = Date.now();
  const world = await KernelWorld.create((line) => console.log(`kernel world: ${line}`));
  console.log(`kernel world: ready after ${((Date.now() - t0) / 1000).toFixed(0)} s (guest booted, agent online)`);
  project.provide("kernelWorld", world.dir);
  return () => world.destroy();
}
