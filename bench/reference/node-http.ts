// Reference ceiling of the box: a bare Node http server answering a constant, in its own
// process (so it has a core to itself like workerd). Prints {"port": N} when listening.
import http from "node:http";

const BODY = '{"Message":"OK"}';
const server = http.createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": BODY.length });
    res.end(BODY);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
