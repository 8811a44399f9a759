/**
 * A byte relay: `node relay.ts LISTEN CONNECT`, each `tcp:<host>:<port>` or `unix:<path>`.
 *
 * The kernel world runs two of them so the guest reaches the edge without the edge leaving
 * loopback: one inside the test's namespace (tcp on the tap address → unix socket in the world
 * directory) and one in the root namespace (unix socket → the edge on 127.0.0.1). A unix socket
 * is a file, so it crosses network namespaces. Prints "listening" once it accepts connections.
 */
import net from "node:net";

type Address = { path: string } | { host: string; port: number };

function parse(spec: string): Address {
  if (spec.startsWith("unix:")) return { path: spec.slice(5) };
  const m = /^tcp:(.+):(\d+)$/.exec(spec);
  if (!m) throw new Error(`relay: "${spec}" is neither unix:<path> nor tcp:<host>:<port>`);
  return { host: m[1]!, port: Number(m[2]) };
}

const [listen, connect] = process.argv.slice(2).map(parse);
if (!listen || !connect) throw new Error("usage: node relay.ts LISTEN CONNECT");

const server = net.createServer((client) => {
  const upstream = net.connect(connect as net.NetConnectOpts);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", close);
  upstream.on("close", close);
});
server.listen(listen as net.ListenOptions, () => process.stdout.write("listening\n"));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
