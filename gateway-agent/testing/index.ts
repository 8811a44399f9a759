/**
 * Test support of the gateway agent, for its own tests and for other workspaces
 * (`@wgkex-edge/gateway-agent/testing`: tests/integration, bench/): a simulated host at the
 * command boundary, a small edge speaking the shared protocol, keys and configurations,
 * network-namespace plumbing. Nothing here is part of the daemon.
 */
export { FakeEdge } from "./fake-edge.ts";
export { keyPair, publicKeys, type TestSetup, tempDir, testSetup } from "./fixtures.ts";
export { createNamespace, destroyNamespace, inNs, netnsPrerequisites, sh } from "./netns.ts";
export { SimHost, SimHostRunner, type SimPeer } from "./sim-host.ts";
