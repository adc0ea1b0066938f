import BerthNetwork
import Testing

/// Addresses, subnets and the allocation of container addresses (dockerd's IPAM rules).
@Suite("IPv4 addresses and pools")
struct AddressTests {
    @Test("dotted quads only; subnets clear host bits; overlaps either way")
    func parsing() {
        #expect(IPv4Address("172.17.0.1")?.description == "172.17.0.1")
        for bad in ["172.17.0", "172.17.0.256", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", "1..2.3", "١.2.3.4"] { #expect(IPv4Address(bad) == nil, "\(bad)") }
        #expect(IPv4Subnet("172.18.0.1/16")?.description == "172.18.0.0/16")
        for bad in ["172.18.0.0", "172.18.0.0/33", "172.18.0.0/", "/16", "x/16"] { #expect(IPv4Subnet(bad) == nil, "\(bad)") }
        let docker = IPv4Subnet("172.17.0.0/16")!
        #expect(docker.overlaps(IPv4Subnet("172.17.5.0/24")!) && IPv4Subnet("172.0.0.0/8")!.overlaps(docker))
        #expect(!docker.overlaps(IPv4Subnet("172.18.0.0/16")!))
        #expect(docker.contains(IPv4Address("172.17.255.254")!) && !docker.contains(IPv4Address("172.18.0.1")!))
        #expect(IPv4Address("172.17.0.2")!.dockerMAC == [0x02, 0x42, 172, 17, 0, 2])
    }

    @Test("allocations take the lowest free address, skip the gateway, stay in the range and come back on release")
    func pool() {
        var pool = AddressPool(subnet: IPv4Subnet("10.5.0.0/29")!)
        #expect(pool.gateway.description == "10.5.0.1")
        let first = (0..<5).compactMap { _ in pool.allocate()?.description }
        #expect(first == ["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"])
        #expect(pool.allocate() == nil)
        pool.release(IPv4Address("10.5.0.4")!)
        #expect(pool.allocate()?.description == "10.5.0.4")
        // A static address: inside, not reserved, not taken.
        var fixed = AddressPool(subnet: IPv4Subnet("10.6.0.0/24")!, range: IPv4Subnet("10.6.0.128/25")!)
        #expect(fixed.allocate()?.description == "10.6.0.128")
        #expect(fixed.claim(IPv4Address("10.6.0.9")!) && !fixed.claim(IPv4Address("10.6.0.9")!))
        #expect(!fixed.claim(IPv4Address("10.6.0.1")!) && !fixed.claim(IPv4Address("10.6.0.255")!) && !fixed.claim(IPv4Address("10.7.0.3")!))
        let gateway = fixed.gateway
        fixed.release(gateway)
        let reclaimed = fixed.claim(gateway)
        #expect(!reclaimed)
        // --aux-address: never given, never claimed, never released into the pool.
        var aux = AddressPool(subnet: IPv4Subnet("10.8.0.0/29")!, reserved: [IPv4Address("10.8.0.2")!, IPv4Address("10.8.0.4")!])
        #expect((0..<4).compactMap { _ in aux.allocate()?.description } == ["10.8.0.3", "10.8.0.5", "10.8.0.6"])
        aux.release(IPv4Address("10.8.0.2")!)
        #expect(aux.allocate() == nil && !aux.claim(IPv4Address("10.8.0.4")!))
    }

    @Test("IPv6: canonical text, subnets, allocation after the gateway")
    func ipv6() {
        #expect(IPv6Address("FD00:0:0:0::2")?.description == "fd00::2" && IPv6Address("1.2.3.4") == nil && IPv6Address("fd00::g") == nil)
        let subnet = IPv6Subnet("fd00:1::5/64")!
        #expect(subnet.description == "fd00:1::/64" && subnet.contains(IPv6Address("fd00:1::ffff")!) && !subnet.contains(IPv6Address("fd00:2::1")!))
        #expect(subnet.overlaps(IPv6Subnet("fd00::/16")!) && !subnet.overlaps(IPv6Subnet("fd00:2::/64")!))
        var pool = IPv6Pool(subnet: subnet)
        #expect(pool.gateway.description == "fd00:1::1" && pool.allocate()?.description == "fd00:1::2")
        #expect(pool.claim(IPv6Address("fd00:1::9")!) && !pool.claim(IPv6Address("fd00:1::9")!) && !pool.claim(IPv6Address("fd00:2::9")!))
        let random = IPv6Subnet.randomUniqueLocal()
        #expect(random.prefix == 64 && random.description.hasPrefix("fd"))
    }

    @Test("new networks take the first free subnet of the pools: dockerd's defaults, or daemon.json's default-address-pools")
    func subnetChoice() {
        #expect(SubnetChooser.next(avoiding: [])?.description == "172.17.0.0/16")
        let docker0 = IPv4Subnet("172.17.0.0/16")!, wide = IPv4Subnet("172.16.0.0/12")!
        #expect(SubnetChooser.next(avoiding: [docker0])?.description == "172.18.0.0/16")
        #expect(SubnetChooser.next(avoiding: [wide])?.description == "192.168.0.0/20")
        #expect(SubnetChooser.next(avoiding: [wide, IPv4Subnet("192.168.0.0/16")!]) == nil)
        let pools = [AddressPoolSpec(base: IPv4Subnet("10.10.0.0/16")!, size: 24)]
        #expect(SubnetChooser.next(avoiding: [IPv4Subnet("10.10.0.0/23")!], pools: pools)?.description == "10.10.2.0/24")
        #expect(SubnetChooser.next(avoiding: [IPv4Subnet("10.10.0.0/16")!], pools: pools) == nil)
    }

    @Test("Berth's table: replaced whole, masquerade out, DNAT for published ports, unpublished ports closed to other hosts")
    func firewall() {
        var table = FirewallTable(bridge: "berth0", subnet: IPv4Subnet("172.17.0.0/16")!)
        let plain = table.script
        #expect(plain.hasPrefix("table ip berth-berth0 {}\ndelete table ip berth-berth0\ntable ip berth-berth0 {\n"))
        #expect(plain.contains("ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade"))
        #expect(plain.contains("oifname \"berth0\" iifname != \"berth0\" drop") && !plain.contains("dnat to"))
        table.ports = [.init(hostAddress: .v4(IPv4Address("127.0.0.1")!), hostPort: 18080, proto: "tcp", containerAddress: .v4(IPv4Address("172.17.0.2")!), containerPort: 80),
                       .init(hostAddress: nil, hostPort: 5353, proto: "udp", containerAddress: .v4(IPv4Address("172.17.0.3")!), containerPort: 53)]
        let published = table.script
        #expect(published.contains("ip daddr 127.0.0.1 tcp dport 18080 dnat to 172.17.0.2:80"))
        #expect(published.contains("fib daddr type local udp dport 5353 dnat to 172.17.0.3:53"))
        #expect(!published.contains("table ip6"))
        // Dual stack: an ip6 table of its own, with the IPv6 ports.
        table.subnet6 = IPv6Subnet("fd00:5::/64")
        table.ports.append(.init(hostAddress: nil, hostPort: 18080, proto: "tcp", containerAddress: .v6(IPv6Address("fd00:5::2")!), containerPort: 80))
        let dual = table.script
        #expect(dual.contains("table ip6 berth-berth0 {\n") && dual.contains("ip6 saddr fd00:5::/64 oifname != \"berth0\" masquerade"))
        #expect(dual.contains("fib daddr type local tcp dport 18080 dnat to [fd00:5::2]:80"))
        #expect(dual.components(separatedBy: "dnat to [fd00:5::2]:80").count == 3, "prerouting and output")
        table.subnet6 = nil
        table.isInternal = true
        #expect(!table.script.contains("172.17.0.0/16 oifname != \"berth0\" masquerade"))
        // enable_icc=false: a bridge-family table drops what one port forwards to another.
        table.isolatedPorts = []
        #expect(table.script.contains("table bridge berth-berth0 {\n  set ports {\n    type ifname;\n  }\n"))
        table.isolatedPorts = ["vethb", "vetha"]
        #expect(table.script.contains("elements = { \"vetha\", \"vethb\" }") && table.script.contains("iifname @ports oifname @ports drop"))
    }
}
