import BerthAPITypes
import BerthNetwork

extension NetworkService {
    /// The IPv6 side of a new network: with `EnableIPv6`, the IPv6 subnet asked for (and its
    /// gateway, `::1` of it by default), or a random unique local /64 as dockerd gives; nil
    /// without. An IPv6 subnet without `EnableIPv6` is refused rather than ignored.
    func ipv6Settings(_ request: NetworkCreateRequest, _ configs: [IPAMConfig], driver: String) throws -> (subnet: IPv6Subnet, gateway: IPv6Address)? {
        guard request.enableIPv6 == true else {
            if let config = configs.first { throw EngineError(.badRequest, "IPv6 subnet \(config.subnet ?? "") given without --ipv6 (EnableIPv6)") }
            return nil
        }
        guard driver == "bridge" else { throw EngineError(.badRequest, "IPv6 on \(driver) networks is not supported by Berth yet (EnableIPv6)") }
        guard configs.count <= 1 else { throw EngineError(.badRequest, "more than one IPv6 subnet is not supported by Berth yet (IPAM.Config)") }
        let others = all().compactMap { $0.subnet6.flatMap(IPv6Subnet.init) }
        guard let config = configs.first, let text = config.subnet else {
            var subnet = IPv6Subnet.randomUniqueLocal()
            while others.contains(where: { $0.overlaps(subnet) }) { subnet = IPv6Subnet.randomUniqueLocal() }
            return (subnet, IPv6Address(subnet.network.value + 1))
        }
        guard let subnet = IPv6Subnet(text) else { throw EngineError(.badRequest, "invalid subnet \(text): use an IPv6 CIDR such as fd00:1::/64") }
        guard subnet.prefix <= 124 else { throw EngineError(.badRequest, "subnet \(text) is too small: a /124 at least") }
        if let other = all().first(where: { $0.subnet6.flatMap(IPv6Subnet.init)?.overlaps(subnet) ?? false }) {
            throw EngineError(.forbidden, "invalid pool request: Pool overlaps with other one on this address space (network \(other.name))")
        }
        if let range = config.ipRange, !range.isEmpty { throw EngineError(.badRequest, "an IPv6 --ip-range is not supported by Berth yet") }
        var gateway = IPv6Address(subnet.network.value + 1)
        if let text = config.gateway, !text.isEmpty {
            guard let address = IPv6Address(text), subnet.contains(address), address != subnet.network else {
                throw EngineError(.badRequest, "invalid gateway \(text): an address inside \(subnet)")
            }
            gateway = address
        }
        return (subnet, gateway)
    }
}
