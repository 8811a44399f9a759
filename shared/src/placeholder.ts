/**
 * What `wgkex-agent import-wgkex` writes where wgkex.yaml cannot tell the value. Both
 * configuration checks (the agent's and the edge's) refuse any string that still contains
 * it, whatever the field's own rule would say: "https://CHANGE-ME.example" is a fine URL and
 * "CHANGE-ME" a fine DNS label, and neither may reach production.
 */
export const IMPORT_PLACEHOLDER = "CHANGE-ME";

const PLACEHOLDER_PATTERN = /change-me/i;

/** A field of a configuration that still holds the placeholder. */
export interface PlaceholderField {
  /** Path in `describeIssues` form: `domains.ffmuc_welt.static_peers[0].public_key`. */
  readonly path: string;
  readonly segments: ReadonlyArray<string | number>;
}

/** Every string (or key) in a parsed configuration that still contains the placeholder. */
export function findPlaceholders(value: unknown): PlaceholderField[] {
  const found: PlaceholderField[] = [];
  const walk = (v: unknown, segments: Array<string | number>) => {
    if (typeof v === "string") {
      if (PLACEHOLDER_PATTERN.test(v)) found.push({ path: pathText(segments), segments });
    } else if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, [...segments, i]);
    } else if (v !== null && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) {
        if (PLACEHOLDER_PATTERN.test(k)) found.push({ path: pathText([...segments, k]), segments: [...segments, k] });
        else walk(item, [...segments, k]);
      }
    }
  };
  walk(value, []);
  return found;
}

export function pathText(segments: ReadonlyArray<string | number>): string {
  return segments.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}
