// Types of `env` and `exports` from "cloudflare:workers" in the tests: the edge's own.
import type { Env as EdgeEnv } from "../src/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends EdgeEnv {}
    interface GlobalProps {
      mainModule: typeof import("../src/index.ts");
      durableNamespaces: "DomainRegistry" | "EdgeStats";
    }
  }
}
