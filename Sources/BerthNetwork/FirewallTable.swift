import Foundation

/// Berth's nftables rules for one bridge network, in a table of their own (`ip berth-<bridge>`):
/// nothing of anyone else's tables is read or changed. The whole table is replaced in one `nft
/// -f` transaction (delete and add in one file), so the rules are never half applied.
public struct FirewallTable: Sendable, Equatable {
    /// A published port: host address (nil: every address of the host), port and protocol, to
    /// a container's address and port.
    public struct PublishedPort: Sendable, Hashable {
        public var hostAddress: IPv4Address?
        public var hostPort: UInt16
        public var proto: String
        public var containerAddress: IPv4Address
        public var containerPort: UInt16

        public init(hostAddress: IPv4Address?, hostPort: UInt16, proto: String, containerAddress: IPv4Address, containerPort: UInt16) {
            self.hostAddress = hostAddress
            self.hostPort = hostPort
            self.proto = proto
            self.containerAddress = containerAddress
            self.containerPort = containerPort
        }
    }

    public var bridge: String
    public var subnet: IPv4Subnet
    /// No route out and no NAT (dockerd's `--internal`).
    public var isInternal = false
    public var ports: [PublishedPort] = []

    public init(bridge: String, subnet: IPv4Subnet) {
        self.bridge = bridge
        self.subnet = subnet
    }

    public var name: String { "berth-" + bridge }

    /// The table as nft source: the old table goes and the new one comes in one transaction.
    public var script: String {
        var lines = [
            "table ip \(name) {}",
            "delete table ip \(name)",
            "table ip \(name) {",
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
        ]
        if !isInternal {
            lines.append("    ip saddr \(subnet) oifname != \"\(bridge)\" masquerade")
        }
        // Loopback clients of a published port reach the container with the host as source, and
        // a container reaching a published port of its network (its own: hairpin) answers the
        // host's address, not the container directly.
        lines.append("    ip saddr 127.0.0.0/8 oifname \"\(bridge)\" masquerade")
        lines.append("    ip saddr \(subnet) oifname \"\(bridge)\" ct status dnat masquerade")
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
                    let destination = port.hostAddress.map { "ip daddr \($0)" } ?? "fib daddr type local"
                    lines.append("    \(destination) \(port.proto) dport \(port.hostPort) dnat to \(port.containerAddress):\(port.containerPort)")
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

    /// Deletes the table (no error when there is none).
    public static func remove(bridge: String) throws {
        try run("table ip berth-\(bridge) {}\ndelete table ip berth-\(bridge)\n")
    }

    private static func run(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nftPath)
        process.arguments = ["-f", "-"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw NetworkError("nft is not installed (\(nftPath)): Berth's networks need Debian's nftables package")
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
