// Reference ceiling: a Worker answering a constant, run through Miniflare 4 like the edge.
// It reads (drains) the request body first, as the edge must: workerd closes the client's
// keep-alive connection after any response whose request body was left unread, so a
// constant Worker that ignores the body measures TCP connection setup, not the Worker.
// `?ignore-body` (or env IGNORE_BODY) answers without reading it, to show that effect.
const BODY = '{"Message":"OK"}';
export default {
  async fetch(request) {
    if (!request.url.includes("ignore-body")) await request.arrayBuffer();
    return new Response(BODY, { headers: { "Content-Type": "application/json" } });
  },
};
