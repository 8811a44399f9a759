import { accessSync, constants } from "node:fs";

/**
 * Suites that need a tool (chromium, wireguard-go, root) skip locally when it is missing,
 * but in CI a missing prerequisite is a failure, never a silent pass.
 */
export function missingPrerequisite(checks: Array<[ok: boolean, what: string]>): string | undefined {
  const missing = checks.filter(([ok]) => !ok).map(([, what]) => what);
  if (missing.length === 0) return undefined;
  const message = `missing prerequisites: ${missing.join("; ")}`;
  if (process.env.CI === "true") throw new Error(`${message} (CI must install them: see .ci/run)`);
  return message;
}

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const isRoot = (): boolean => process.getuid?.() === 0;
