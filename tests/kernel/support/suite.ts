import { inject } from "vitest";
import { KernelWorld } from "./world.ts";

/** Why the kernel suite is skipped here (locally, without QEMU or the kernel), or undefined. */
export const kernelSkip = (): string | undefined => inject("kernelSkip") || undefined;

/** The world the global setup booted (only call when not skipped). */
export const attachWorld = (): KernelWorld => KernelWorld.attach(inject("kernelWorld"));
