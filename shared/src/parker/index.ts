// Parker (wgkex API v3): signed per-node configuration for routed Gluon nodes.
// See docs/parker.md. Pure and runtime-neutral: the same bytes in workerd and Node.
export * from "./answer.ts";
export * from "./bytes.ts";
export * from "./ip.ts";
export * from "./layout.ts";
export * from "./request.ts";
export * from "./signer.ts";
export * from "./signify.ts";
export * from "./source-tag.ts";
export * from "./transport.ts";
export * from "./verify.ts";
