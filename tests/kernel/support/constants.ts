/** Addresses and names of the kernel world (see world.ts for the picture). */
export const PREFIX = "wgxk";
/** The tap device's address in the test's namespace; the edge relay listens there. */
export const HOST_ADDR = "10.214.0.1";
/** The guest's eth0: the gateway's external address. */
export const GUEST_ADDR = "10.214.0.2";
/**
 * The gateway's external name, what v2 answers carry (a DNS name: FFMUC's client runs nslookup
 * on it). The guest resolves it from its own hosts file (guest-init.sh), never the host's.
 */
export const GUEST_NAME = "gw01.kernel.e2e.invalid";
export const RELAY_PORT = 8080;
/** The mesh's IPv6 prefix: the address on the gateway's mesh bridge and the clients'. */
export const MESH_PREFIX = "fd77:4b::";
export const GATEWAY_MESH_ADDRESS = `${MESH_PREFIX}1`;

/** FFMUC's interface names for ffmuc_welt: the prefix ffmuc_ stripped. */
export const IF = { wg: "wg-welt", vx: "vx-welt", bat: "bat-welt", br: "br-welt" } as const;
export const HOP_PENALTY = 60;
export const ROUTING_ALGO = "BATMAN_V";
/**
 * A MAC of networkd's choosing (it derives one from the machine id), not the agent's: the
 * adoption scenario gives it to its networkd-made VXLAN, and the agent keeps it from then on.
 */
export const NETWORKD_MAC = "4e:1d:2c:00:4b:01";
