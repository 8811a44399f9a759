import { ensureAgentBundle } from "./world.ts";

/** Bundle the agent once (into .wrangler/e2e-agent, see ensureAgentBundle). */
export default async function setup(): Promise<void> {
  await ensureAgentBundle();
}
