import Foundation

/// An IPv4 or IPv6 address.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    var isIPv6: Bool { if case .v6 = self { true } else { false } }
}

/// Berth's nftables rules for one bridge network, in tables of their own (`ip berth-<bridge>`,
/// and `ip6 berth-<bridge>` on a dual-stack network): nothing of anyone else's tables is read or
/// changed. The tables are replaced in one `nft -f` transaction (delete and add in one file), so
/// the rules are never half applied.
public struct FirewallTable: Sendable, Equatable {
    /// A published port: host address (nil: every address of the host), port and protocol, to
    /// a container's address and port (of one family).
    public struct PublishedPort: Sendable, Hashable {
        public var hostAddress: IPAddress?
        public var hostPort: UInt16
        public var proto: String
        public var containerAddress: IPAddress
        public var containerPort: UInt16

        public init(hostAddress: IPAddress?, hostPort: UInt16, proto: String, containerAddress: IPAddress, containerPort: UInt16) {
            self.hostAddress = hostAddress
            self.hostPort = hostPort
            self.proto = proto
            self.containerAddress = containerAddress
            self.containerPort = containerPort
        }
    }

    public var bridge: String
    public var subnet: IPv4Subnet
    /// A dual-stack network's IPv6 subnet: its rules go in an `ip6` table.
    public var subnet6: IPv6Subnet?
    /// No route out and no NAT (dockerd's `--internal`).
    public var isInternal = false
    /// Outbound traffic takes the host's address (`enable_ip_masquerade`).
    public var masquerade = true
    /// Without inter-container traffic (`enable_icc=false`): the bridge ports (host veths) that
    /// may not forward to each other; nil when they may.
    public var isolatedPorts: [String]?
    public var ports: [PublishedPort] = []

    public init(bridge: String, subnet: IPv4Subnet) {
        self.bridge = bridge
        self.subnet = subnet
    }

    public var name: String { "berth-" + bridge }

    /// The tables as nft source: the old ones go and the new ones come in one transaction.
    public var script: String {
        var text = family("ip", subnet: subnet.description, ports: ports.filter { !$0.containerAddress.isIPv6 })
        if let subnet6 { text += family("ip6", subnet: subnet6.description, ports: ports.filter(\.containerAddress.isIPv6)) }
        if let isolatedPorts {
            // Frames between two ports of the bridge are bridged, not routed: the bridge family sees them.
            text += "table bridge \(name) {}\ndelete table bridge \(name)\ntable bridge \(name) {\n"
            text += "  set ports {\n    type ifname;\n"
            if !isolatedPorts.isEmpty { text += "    elements = { " + isolatedPorts.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + " }\n" }
            text += "  }\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
            text += "    iifname @ports oifname @ports drop\n  }\n}\n"
        }
        return text
    }

    private func family(_ family: String, subnet: String, ports: [PublishedPort]) -> String {
        let match = family == "ip" ? "ip" : "ip6"
        var lines = [
            "table \(family) \(name) {}",
            "delete table \(family) \(name)",
            "table \(family) \(name) {",
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
        ]
        if !isInternal && masquerade {
            lines.append("    \(match) saddr \(subnet) oifname != \"\(bridge)\" masquerade")
        }
        // Loopback clients of a published port reach the container with the host as source, and
        // a container reaching a published port of its network (its own: hairpin) answers the
        // host's address, not the container directly.
        if family == "ip" { lines.append("    ip saddr 127.0.0.0/8 oifname \"\(bridge)\" masquerade") }
        lines.append("    \(match) saddr \(subnet) oifname \"\(bridge)\" ct status dnat masquerade")
        lines += [
            "  }",
            "  chain forward {",
            "    type filter hook forward priority filter; policy accept;",
        ]
        if isInternal {
            lines.append("    iifname \"\(bridge)\" oifname != \"\(bridge)\" drop")
            lines.append("    oifname \"\(bridge)\" iifname != \"\(bridge)\" drop")
        } else {
            lines.append("    oifname \"\(bridge)\" ct state established,related accept")
            // Unpublished ports of the containers are not reachable from other hosts (dockerd 28).
            lines.append("    oifname \"\(bridge)\" iifname != \"\(bridge)\" ct status dnat accept")
            lines.append("    oifname \"\(bridge)\" iifname != \"\(bridge)\" drop")
        }
        lines.append("  }")
        if !ports.isEmpty {
            for (chain, hook) in [("prerouting", "prerouting"), ("output", "output")] {
                lines.append("  chain \(chain) {")
                // -100 is dstnat's value; nft 1.0.6 takes the name only on prerouting.
                lines.append("    type nat hook \(hook) priority -100; policy accept;")
                for port in ports.sorted(by: { ($0.hostPort, $0.proto) < ($1.hostPort, $1.proto) }) {
                    let destination = port.hostAddress.map { "\(match) daddr \($0)" } ?? "fib daddr type local"
                    let target = port.containerAddress.isIPv6 ? "[\(port.containerAddress)]" : "\(port.containerAddress)"
                    lines.append("    \(destination) \(port.proto) dport \(port.hostPort) dnat to \(target):\(port.containerPort)")
                }
                lines.append("  }")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Replaces Berth's table on the host with this one.
    public func apply() throws {
        try Self.run(script)
    }

    /// Deletes the tables (no error when there are none).
    public static func remove(bridge: String) throws {
        try run("table ip berth-\(bridge) {}\ndelete table ip berth-\(bridge)\n")
        // Made only for dual-stack networks and without inter-container traffic: a kernel
        // without the family has none to delete, and its refusal is no failure of the removal.
        for family in ["ip6", "bridge"] { try? runOnce("table \(family) berth-\(bridge) {}\ndelete table \(family) berth-\(bridge)\n") }
    }

    /// Runs `script` in one `nft -f` transaction; a failure is tried twice more (a transaction
    /// may meet another's), and the last one's message is thrown.
    private static func run(_ script: String) throws {
        var failure: (any Error)?
        for _ in 0..<3 {
            do { return try runOnce(script) } catch { failure = error }
        }
        throw failure!
    }

    private static func runOnce(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nftPath)
        process.arguments = ["-f", "-"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            guard FileManager.default.isExecutableFile(atPath: nftPath) else {
                throw NetworkError("nft is not installed (\(nftPath)): Berth's networks need Debian's nftables package")
            }
            throw NetworkError("start \(nftPath): \(error)")
        }
        input.fileHandleForWriting.write(Data(script.utf8))
        try? input.fileHandleForWriting.close()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NetworkError("nft: \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    static var nftPath: String {
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/nft"
    }
}

public struct NetworkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
