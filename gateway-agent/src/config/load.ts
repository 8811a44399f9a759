import { readFileSync } from "node:fs";
import { describeIssues } from "@wgkex-edge/shared";
import { parseDocument } from "yaml";
import { placeholderProblems } from "./placeholders.ts";
import { type AgentConfig, configSchema, resolveConfig } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parse and validate YAML text; errors list every problem as "field.path: what to do". */
export function parseConfig(text: string, source = "config"): AgentConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${source}: not valid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${source}: must be a YAML mapping (gateway:, edge:, domains: …)`);
  }
  // Placeholders first: a field still holding CHANGE-ME gets that message, not its own rule's.
  const placeholders = placeholderProblems(data as Record<string, unknown>);
  const result = configSchema.safeParse(data);
  if (!result.success || placeholders.length > 0) {
    const held = new Set(placeholders.map((p) => p.path));
    const issues = (result.error?.issues ?? []).filter(
      (issue) => !held.has(describeIssues({ issues: [{ ...issue, message: "" }] } as never).replace(/: $/, "")),
    );
    const lines = placeholders.map((p) => `${p.path}: ${p.message}`);
    lines.push(
      ...issues.map((issue) => {
        if (issue.code === "unrecognized_keys") {
          const where =
            issue.path.length > 0
              ? `${describeIssues({ issues: [{ ...issue, message: "" }] } as never).replace(/: $/, "")}: `
              : "";
          return `${where}unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}: remove it or check its spelling`;
        }
        return describeIssues({ issues: [issue] } as never);
      }),
    );
    throw new ConfigError(`${source}: invalid configuration:\n${lines.map((l) => `  - ${l}`).join("\n")}`);
  }
  return resolveConfig(result.data!);
}

export function loadConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the configuration file: ${(e as Error).message}`);
  }
  return parseConfig(text, path);
}

/** The edge socket URL of one domain: https → wss, http → ws. */
export function socketUrl(baseUrl: string, path: string): string {
  const url = new URL(baseUrl);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  const base = url.pathname.replace(/\/+$/, "");
  url.pathname = `${base}${path}`;
  return url.toString();
}
