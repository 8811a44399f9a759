export * from "./address.ts";
export * from "./domain.ts";
export * from "./interfaces.ts";
export * from "./key.ts";
export * from "./md5.ts";
export * from "./protocol.ts";
export * from "./session.ts";
