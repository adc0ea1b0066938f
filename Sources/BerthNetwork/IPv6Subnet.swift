import Glibc

/// An IPv6 address.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt128

    public init(_ value: UInt128) { self.value = value }

    /// Any of IPv6's text forms (`fd00::2`, `fd00:0:0:0:0:0:0:2`); nil for anything else.
    public init?(_ text: String) {
        guard text.contains(":") else { return nil }
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        self.init(bytes: withUnsafeBytes(of: raw) { Array($0) })
    }

    /// Sixteen bytes in network order.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt128($1) }
    }

    public var bytes: [UInt8] { (0..<16).map { UInt8(truncatingIfNeeded: value >> UInt128(8 * (15 - $0))) } }

    /// The canonical form (RFC 5952: lower case, the longest run of zeros as `::`).
    public var description: String {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "::" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 network: an address with a prefix length (`fd00:1::/64`).
public struct IPv6Subnet: Sendable, Hashable, CustomStringConvertible {
    public let network: IPv6Address
    public let prefix: Int

    public init(_ address: IPv6Address, prefix: Int) {
        precondition((0...128).contains(prefix))
        self.prefix = prefix
        network = IPv6Address(address.value & Self.mask(prefix))
    }

    /// `fd00:1::/64`; nil when malformed. Host bits set are cleared.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv6Address(String(parts[0])), parts[1].allSatisfy(\.isASCII),
              let prefix = Int(parts[1]), (0...128).contains(prefix) else { return nil }
        self.init(address, prefix: prefix)
    }

    static func mask(_ prefix: Int) -> UInt128 { prefix == 0 ? 0 : UInt128.max << UInt128(128 - prefix) }

    public var description: String { "\(network)/\(prefix)" }
    public var last: IPv6Address { IPv6Address(network.value | ~Self.mask(prefix)) }

    public func contains(_ address: IPv6Address) -> Bool { address.value & Self.mask(prefix) == network.value }

    public func overlaps(_ other: IPv6Subnet) -> Bool {
        let shorter = Self.mask(min(prefix, other.prefix))
        return network.value & shorter == other.network.value & shorter
    }

    /// A unique local /64 (`fdXX:XXXX:XXXX:XXXX::/64`, random global and subnet IDs), as dockerd
    /// gives an IPv6 network created without a subnet.
    public static func randomUniqueLocal() -> IPv6Subnet {
        let high = UInt128(0xfd) << 120 | UInt128(UInt64.random(in: 0...UInt64.max) >> 8) << 64
        return IPv6Subnet(IPv6Address(high), prefix: 64)
    }
}

/// The IPv6 addresses of one network: the gateway and those handed out are taken; an
/// allocation takes the lowest free address after the subnet's first.
public struct IPv6Pool: Sendable, Equatable {
    public let subnet: IPv6Subnet
    public let gateway: IPv6Address
    public private(set) var taken: Set<IPv6Address>

    public init(subnet: IPv6Subnet, gateway: IPv6Address? = nil) {
        self.subnet = subnet
        self.gateway = gateway ?? IPv6Address(subnet.network.value + 1)
        taken = [self.gateway]
    }

    public mutating func allocate() -> IPv6Address? {
        var candidate = subnet.network.value + 1
        // Bounded: a network holds far fewer containers than a /64 has addresses.
        while candidate <= subnet.last.value, taken.count < 1 << 20 {
            let address = IPv6Address(candidate)
            if !taken.contains(address) {
                taken.insert(address)
                return address
            }
            candidate += 1
        }
        return nil
    }

    public mutating func claim(_ address: IPv6Address) -> Bool {
        guard subnet.contains(address), address != subnet.network, !taken.contains(address) else { return false }
        taken.insert(address)
        return true
    }

    public mutating func release(_ address: IPv6Address) {
        if address != gateway { taken.remove(address) }
    }
}
