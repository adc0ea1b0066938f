import Foundation
import Glibc

/// What a container asks to publish: its port and protocol, on a host address (nil: all of
/// the host's) and a host port, a range to pick from, or none (an ephemeral port).
public struct PortRequest: Sendable, Equatable {
    public var containerPort: UInt16
    public var proto: String
    public var hostAddress: IPv4Address?
    public var hostPorts: ClosedRange<UInt16>?

    public init(containerPort: UInt16, proto: String, hostAddress: IPv4Address?, hostPorts: ClosedRange<UInt16>?) {
        self.containerPort = containerPort
        self.proto = proto
        self.hostAddress = hostAddress
        self.hostPorts = hostPorts
    }

    /// The requests of a container's `PortBindings` key (`80/tcp`) and one of its bindings
    /// (`HostIp`, `HostPort`: `8080`, `8080-8090` or empty), with dockerd's messages for what
    /// does not parse.
    public static func parse(key: String, hostIP: String?, hostPort: String?) throws -> PortRequest {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { throw NetworkError("invalid port specification: \"\(key)\"") }
        let proto = parts.count == 2 ? parts[1].lowercased() : "tcp"
        guard ["tcp", "udp", "sctp"].contains(proto) else { throw NetworkError("invalid proto: \(parts[1])") }
        guard let port = UInt16(parts[0]), port > 0 else { throw NetworkError("invalid containerPort: \(parts[0])") }
        var address: IPv4Address?
        if let hostIP, !hostIP.isEmpty, hostIP != "0.0.0.0" {
            if hostIP.contains(":") { throw NetworkError("publishing on an IPv6 address (\(hostIP)) is not supported by Berth yet") }
            guard let parsed = IPv4Address(hostIP) else { throw NetworkError("invalid IP address: \(hostIP)") }
            address = parsed
        }
        return PortRequest(containerPort: port, proto: proto, hostAddress: address, hostPorts: try hostRange(hostPort))
    }

    private static func hostRange(_ text: String?) throws -> ClosedRange<UInt16>? {
        guard let text, !text.isEmpty, text != "0" else { return nil }
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]), let high = UInt16(bounds.last!), low > 0, low <= high else {
            throw NetworkError("invalid hostPort: \(text)")
        }
        return low...high
    }
}

/// A published port as Berth keeps it with the container's endpoint.
public struct PortMapping: Codable, Sendable, Hashable {
    /// `0.0.0.0` for every address of the host.
    public var hostIP: String
    public var hostPort: UInt16
    public var proto: String
    public var containerPort: UInt16

    public init(hostIP: String, hostPort: UInt16, proto: String, containerPort: UInt16) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.proto = proto
        self.containerPort = containerPort
    }

    /// Whether two mappings want the same host port: same port and protocol, and the same
    /// address or either on every address.
    /// A binding on the host's IPv6 addresses (`::`, all of them), to the container's IPv6 address.
    public var isIPv6: Bool { hostIP.contains(":") }

    func collides(with other: PortMapping) -> Bool {
        hostPort == other.hostPort && proto == other.proto && (hostIP == other.hostIP || hostIP == "0.0.0.0" || other.hostIP == "0.0.0.0")
    }
}

/// Whether the host has a socket on `port` already (a process of its own, not a container):
/// a published port there would take its traffic away, so it counts as taken.
extension PortMapping {
    /// Host ports for `requests`: the one asked for, the first free one of a range, or a free
    /// ephemeral one; none that `taken` holds (other containers' ports, on any network) or a
    /// host process listens on. `endpoint` names the container in dockerd's message.
    public static func allocate(_ requests: [PortRequest], taken: [PortMapping], endpoint: String) throws -> [PortMapping] {
        var taken = taken
        var mappings: [PortMapping] = []
        for request in requests {
            let hostIP = request.hostAddress?.description ?? "0.0.0.0"
            func free(_ port: UInt16) -> Bool {
                let candidate = PortMapping(hostIP: hostIP, hostPort: port, proto: request.proto, containerPort: request.containerPort)
                return !taken.contains { $0.collides(with: candidate) } && !HostPortProbe.inUse(port, proto: request.proto, address: request.hostAddress)
            }
            let range = request.hostPorts ?? HostPortProbe.ephemeralRange()
            guard let port = range.first(where: free) else {
                let shown = request.hostPorts.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" } ?? "(ephemeral)"
                throw NetworkError("driver failed programming external connectivity on endpoint \(endpoint): Bind for \(hostIP):\(shown) failed: port is already allocated")
            }
            let mapping = PortMapping(hostIP: hostIP, hostPort: port, proto: request.proto, containerPort: request.containerPort)
            taken.append(mapping)
            mappings.append(mapping)
        }
        return mappings
    }
}

enum HostPortProbe {
    static func inUse(_ port: UInt16, proto: String, address: IPv4Address?) -> Bool {
        let type = proto == "udp" ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), proto == "sctp" ? Int32(IPPROTO_SCTP) : 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = (address?.value ?? 0).bigEndian
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound != 0 && errno == EADDRINUSE
    }

    /// The kernel's ephemeral range (`ip_local_port_range`), where dockerd picks random ports.
    static func ephemeralRange() -> ClosedRange<UInt16> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { UInt16($0) }
        guard bounds.count == 2, bounds[0] > 0, bounds[0] <= bounds[1] else { return 32768...60999 }
        return bounds[0]...bounds[1]
    }
}
