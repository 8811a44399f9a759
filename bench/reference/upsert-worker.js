// Reference ceiling for new keys: Worker -> Durable Object (RPC, one per domain) -> one
// SQLite upsert, answered after the write (output gate), run through Miniflare 4 like the edge.
import { DurableObject } from "cloudflare:workers";

const BODY = '{"Message":"OK"}';

export class KeyStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS keys (public_key TEXT PRIMARY KEY, registered_at INTEGER NOT NULL)",
    );
  }

  upsert(key) {
    this.ctx.storage.sql.exec(
      "INSERT INTO keys (public_key, registered_at) VALUES (?, ?) ON CONFLICT (public_key) DO UPDATE SET registered_at = excluded.registered_at",
      key,
      Date.now(),
    );
    return true;
  }
}

export default {
  async fetch(request, env) {
    const body = JSON.parse(await request.text());
    await env.KEY_STORE.get(env.KEY_STORE.idFromName(body.domain)).upsert(body.public_key);
    return new Response(BODY, { headers: { "Content-Type": "application/json" } });
  },
};
