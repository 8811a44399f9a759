import { missingPrerequisite } from "../../support/require-tool.ts";
import { missingTools } from "./world.ts";

/** undefined when the world can be built; otherwise why not (locally: skip; in CI: throws). */
export const e2eSkip = (): string | undefined => missingPrerequisite(missingTools());
