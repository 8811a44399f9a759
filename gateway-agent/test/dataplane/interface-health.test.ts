import { describe, expect, it } from "vitest";
import {
  interfaceProblems,
  type LinkState,
  type ObservedStack,
  type ProvisionedStack,
  parseAddresses,
  parseLinks,
} from "../../src/dataplane/interface-health.ts";
import { publicKeys } from "../../testing/index.ts";

const [key, other] = publicKeys(2, 110) as [string, string];
const want: ProvisionedStack = {
  wireguard: "wg-welt",
  vxlan: "vx-welt",
  batman: "bat-welt",
  bridge: "br-welt",
  publicKey: key,
  listenPort: 40011,
  address: "fe80::2",
  vni: 4831583,
};
const link = (over: Partial<LinkState> = {}): LinkState => ({
  kind: undefined,
  data: {},
  up: true,
  master: undefined,
  ...over,
});
const healthy = (): Map<string, LinkState> =>
  new Map([
    ["wg-welt", link({ kind: "wireguard" })],
    [
      "vx-welt",
      link({
        kind: "vxlan",
        data: { id: 4831583, local6: "fe80::2", port: 8472, link: "wg-welt" },
        master: "bat-welt",
      }),
    ],
    ["bat-welt", link({ kind: "batadv", master: "br-welt" })],
    ["br-welt", link({ kind: "bridge" })],
  ]);
const seen = (links = healthy(), over: Partial<ObservedStack> = {}): ObservedStack => ({
  links,
  wireguard: { publicKey: key, listenPort: 40011 },
  addresses: ["fe80::2"],
  ...over,
});

describe("interface health: the stack provisioning set up, or what is wrong with it", () => {
  it("nothing wrong with the stack as provisioned", () => {
    expect(interfaceProblems(seen(), want)).toEqual([]);
  });

  it("wg interface gone: that alone (everything else follows from provisioning it again)", () => {
    const links = healthy();
    links.delete("wg-welt");
    links.delete("vx-welt");
    expect(interfaceProblems(seen(links), want)).toEqual(["wg-welt is missing"]);
  });

  it("recreated empty: key, port, address, down; the VXLAN interface went with the old one", () => {
    const links = healthy();
    links.set("wg-welt", link({ kind: "wireguard", up: false }));
    links.delete("vx-welt");
    expect(
      interfaceProblems(
        seen(links, { wireguard: { publicKey: undefined, listenPort: 0 }, addresses: ["fe80::7b1:2ff:fe3c:1"] }),
        want,
      ),
    ).toEqual([
      "wg-welt is down",
      `wg-welt has public key (none), not ${key}`,
      "wg-welt listens on 0, not 40011",
      "wg-welt lacks its address fe80::2",
      "vx-welt is missing",
    ]);
  });

  it("another key, a WireGuard that does not answer, addresses that cannot be read", () => {
    expect(interfaceProblems(seen(healthy(), { wireguard: { publicKey: other, listenPort: 40011 } }), want)).toEqual([
      `wg-welt has public key ${other}, not ${key}`,
    ]);
    expect(interfaceProblems(seen(healthy(), { wireguard: undefined, addresses: undefined }), want)).toEqual([
      "wg-welt: WireGuard does not answer (wg show)",
    ]);
  });

  it("VXLAN with other settings, down; batman-adv and bridge without their ports", () => {
    const links = healthy();
    links.set(
      "vx-welt",
      link({
        kind: "vxlan",
        data: { id: 1, local6: "fe80::2", port: 8472, link: "wg-welt" },
        up: false,
      }),
    );
    links.set("bat-welt", link({ kind: "batadv" }));
    links.delete("br-welt");
    expect(interfaceProblems(seen(links), want)).toEqual([
      "vx-welt has other VXLAN settings",
      "vx-welt is down",
      "vx-welt is not a port of bat-welt",
      "br-welt is missing",
      "bat-welt is not a port of br-welt",
    ]);
  });

  it("batman-adv is not looked for when provisioning could not set it up (module missing)", () => {
    const links = healthy();
    links.delete("bat-welt");
    links.delete("br-welt");
    links.set("vx-welt", link({ ...links.get("vx-welt")!, master: undefined }));
    expect(interfaceProblems(seen(links), { ...want, batman: undefined, bridge: undefined })).toEqual([]);
  });

  it("parses `ip -d -j link show` and `ip -6 -j addr show` as iproute2 prints them", () => {
    const links = parseLinks(
      JSON.stringify([
        { ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], address: "00:00:00:00:00:00" },
        {
          ifname: "vx0",
          flags: ["BROADCAST", "MULTICAST"],
          master: "br0",
          address: "5a:c7:e6:c2:b0:74",
          linkinfo: { info_kind: "vxlan", info_data: { id: 5, local6: "fe80::1", port: 8472, link: "v0" } },
        },
      ]),
    );
    expect(links.get("lo")).toEqual({
      kind: undefined,
      data: {},
      up: true,
      master: undefined,
    });
    expect(links.get("vx0")).toEqual({
      kind: "vxlan",
      data: { id: 5, local6: "fe80::1", port: 8472, link: "v0" },
      up: false,
      master: "br0",
    });
    expect(
      parseAddresses(
        '[{"ifindex":1,"ifname":"wg-welt","addr_info":[{"family":"inet6","local":"fe80::2","prefixlen":128,"scope":"link"}]}]',
      ),
    ).toEqual(["fe80::2"]);
    expect(parseAddresses("")).toEqual([]);
  });
});
