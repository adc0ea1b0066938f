import ArgumentParser
import BerthAPITypes

/// docker's `-p`/`--publish` and `--expose` syntax, and its PORTS column.
enum PortSpec {
    /// One `-p` value: `[ip:][hostPort[-end]:]containerPort[-end][/proto]` (an IPv6 address in
    /// brackets) as the `ExposedPorts` keys and `PortBindings` entries the docker CLI sends.
    /// Ranges pair up, or a host range serves one container port (the daemon picks in it).
    static func parse(_ spec: String) throws -> [(key: String, hostIP: String, hostPort: String)] {
        var text = Substring(spec)
        var proto = "tcp"
        if let slash = text.lastIndex(of: "/") {
            proto = String(text[text.index(after: slash)...]).lowercased()
            text = text[..<slash]
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw CLIError.usage("invalid proto: \(proto)") }
        }
        var hostIP = ""
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostIP = String(text[text.index(after: text.startIndex)..<close])
            text = text[text.index(after: close)...].drop { $0 == ":" }
        }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if hostIP.isEmpty && parts.count == 3 { hostIP = parts.removeFirst() }
        guard (1...2).contains(parts.count) else { throw CLIError.usage("invalid port format: \(spec)") }
        let container = try range(parts.last!, what: "containerPort", spec)
        let host = parts.count == 2 && !parts[0].isEmpty ? try range(parts[0], what: "hostPort", spec) : nil
        if let host, host.count != container.count, container.count != 1 {
            throw CLIError.usage("invalid ranges specified for container and host Ports: \(parts.last!) and \(parts[0])")
        }
        return container.enumerated().map { offset, port in
            let hostPort: String
            if let host { hostPort = container.count == 1 && host.count > 1 ? "\(host.lowerBound)-\(host.upperBound)" : "\(host.lowerBound + offset)" }
            else { hostPort = "" }
            return ("\(port)/\(proto)", hostIP, hostPort)
        }
    }

    /// `--expose 80`, `--expose 7000-7002/udp`: the exposed port keys.
    static func exposed(_ spec: String) throws -> [String] {
        let parts = spec.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard ["tcp", "udp", "sctp"].contains(proto) else { throw CLIError.usage("invalid proto: \(proto)") }
        return try range(parts[0], what: "containerPort", spec).map { "\($0)/\(proto)" }
    }

    private static func range(_ text: String, what: String, _ spec: String) throws -> ClosedRange<Int> {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil, low >= 1, high <= 65535, low <= high else {
            throw CLIError.usage("invalid \(what): \(text)")
        }
        return low...high
    }

    /// docker's PORTS column: `0.0.0.0:8080->80/tcp`, consecutive ports as one range
    /// (`0.0.0.0:8080-8081->80-81/tcp`), unpublished ones as `80/tcp`; sorted, comma-separated.
    static func display(_ ports: [Port]) -> String {
        struct Run { var ip: String?; var type: String; var privateLow: Int64; var privateHigh: Int64; var publicLow: Int64?; var publicHigh: Int64? }
        let sorted = ports.sorted {
            ($0.ip ?? "", $0.type ?? "", $0.privatePort ?? 0, $0.publicPort ?? 0) < ($1.ip ?? "", $1.type ?? "", $1.privatePort ?? 0, $1.publicPort ?? 0)
        }
        var runs: [Run] = []
        for port in sorted {
            let privatePort = port.privatePort ?? 0, type = port.type ?? "tcp"
            if var last = runs.last, last.ip == port.ip, last.type == type, last.privateHigh + 1 == privatePort,
               (last.publicHigh == nil && port.publicPort == nil) || (last.publicHigh.map { $0 + 1 } == port.publicPort && port.publicPort != nil) {
                last.privateHigh = privatePort
                last.publicHigh = port.publicPort
                runs[runs.count - 1] = last
            } else {
                runs.append(Run(ip: port.ip, type: type, privateLow: privatePort, privateHigh: privatePort, publicLow: port.publicPort, publicHigh: port.publicPort))
            }
        }
        func span(_ low: Int64, _ high: Int64) -> String { low == high ? "\(low)" : "\(low)-\(high)" }
        return runs.map { run in
            let inside = span(run.privateLow, run.privateHigh) + "/" + run.type
            guard let low = run.publicLow, let high = run.publicHigh else { return inside }
            let ip = run.ip.map { $0.contains(":") ? "[\($0)]" : $0 } ?? ""
            return "\(ip):\(span(low, high))->\(inside)"
        }.joined(separator: ", ")
    }
}

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports.
struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List port mappings or a specific mapping for the container")
    @Argument var container: String
    @Argument var privatePort: String?

    func run() throws {
        let ports = try session.client.inspectContainer(container).networkSettings?.ports ?? [:]
        if let privatePort {
            let key = privatePort.contains("/") ? privatePort : privatePort + "/tcp"
            guard let bindings = ports[key] ?? nil, !bindings.isEmpty else {
                throw CLIError.message("Error: No public port '\(key)' published for \(container)", code: 1)
            }
            for binding in bindings { print("\(Self.host(binding.hostIp)):\(binding.hostPort ?? "")") }
            return
        }
        for key in ports.keys.sorted(by: Self.byPort) {
            for binding in (ports[key] ?? nil) ?? [] { print("\(key) -> \(Self.host(binding.hostIp)):\(binding.hostPort ?? "")") }
        }
    }

    static func host(_ ip: String?) -> String {
        let ip = ip.flatMap { $0.isEmpty ? nil : $0 } ?? "0.0.0.0"
        return ip.contains(":") ? "[\(ip)]" : ip
    }

    static func byPort(_ lhs: String, _ rhs: String) -> Bool {
        let left = Int(lhs.split(separator: "/").first ?? "") ?? 0, right = Int(rhs.split(separator: "/").first ?? "") ?? 0
        return left == right ? lhs < rhs : left < right
    }
}
