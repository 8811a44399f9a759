// Reference floor for any request that consults a domain's object: Worker (reads the body,
// parses the JSON) -> Durable Object by name (RPC, one per domain) -> returns at once, no
// storage. The edge's repeated-key path is this plus its own checks and one SQLite read.
import { DurableObject } from "cloudflare:workers";

const BODY = '{"Message":"OK"}\n';

export class KeyStore extends DurableObject {
  register(key) {
    return key.length > 0;
  }
}

export default {
  async fetch(request, env) {
    const body = JSON.parse(await request.text());
    await env.KEY_STORE.getByName(body.domain).register(body.public_key);
    return new Response(BODY, { headers: { "Content-Type": "application/json" } });
  },
};
