import { ensureBuilt } from "../../edge/local/serve.ts";

/** Bundle the Worker (when a source changed) once for every suite that starts a local edge. */
export default function setup(): void {
  ensureBuilt();
}
