import { buildEdge } from "../../edge/local/serve.ts";

/** Bundle the Worker once for every suite that starts a local edge. */
export default function setup(): void {
  buildEdge();
}
