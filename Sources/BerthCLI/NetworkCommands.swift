import ArgumentParser
import BerthAPITypes
import BerthClient
import Foundation

/// `berth network`: docker's network commands.
struct NetworkGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks",
        subcommands: [NetworkList.self, NetworkCreate.self, NetworkInspect.self, NetworkRemove.self, NetworkPrune.self, NetworkConnect.self, NetworkDisconnect.self])
}

struct NetworkList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks", aliases: ["list"])
    @Option(name: [.short, .long], help: "Provide filter values (e.g. \"driver=bridge\")") var filter: [String] = []
    @Option(help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .long], help: "Only display network IDs") var quiet = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the output") var noTrunc = false

    static let headers = ["ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
                          "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"]

    func run() throws {
        let networks = (try session.client.request("GET", "/networks", query: try filtersQuery(filter)).json.array ?? [])
            .map(Network.init(json:)).sorted { ($0.name ?? "") < ($1.name ?? "") }
        let rows: [JSONValue] = networks.map { network in
            let id = network.id ?? ""
            let labels = network.labels ?? [:]
            return .object([
                "ID": .string(noTrunc ? id : String(id.prefix(12))), "Name": .string(network.name ?? ""), "Driver": .string(network.driver ?? ""),
                "Scope": .string(network.scope ?? ""), "IPv6": .string(String(network.enableIPv6 ?? false)),
                "Internal": .string(String(network.`internal` ?? false)),
                "Labels": .string(labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",")),
                "CreatedAt": .string(network.created ?? ""),
            ])
        }
        if quiet {
            for row in rows { print(row["ID"]?.string ?? "") }
            return
        }
        print(try OutputFormat(format ?? "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", headers: Self.headers).render(rows), terminator: "")
    }
}

struct NetworkCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a network")
    @Option(name: [.short, .long], help: "Driver to manage the Network") var driver = "bridge"
    @Option(help: "Subnet in CIDR format that represents a network segment") var subnet: [String] = []
    @Option(help: "IPv4 or IPv6 Gateway for the master subnet") var gateway: [String] = []
    @Option(name: .customLong("ip-range"), help: "Allocate container ip from a sub-range") var ipRange: [String] = []
    @Option(name: .customLong("aux-address"), help: "Auxiliary IPv4 or IPv6 addresses used by Network driver (NAME=IP)") var auxAddress: [String] = []
    @Flag(help: "Enable or disable IPv6 networking") var ipv6 = false
    @Flag(help: "Restrict external access to the network") var `internal` = false
    @Flag(help: "Enable manual container attachment") var attachable = false
    @Option(name: [.short, .long], help: "Set driver specific options") var opt: [String] = []
    @Option(help: "Set metadata on a network") var label: [String] = []
    @Argument var name: String

    func run() throws {
        guard gateway.count <= subnet.count, ipRange.count <= subnet.count else {
            throw CLIError.usage("a gateway or an IP range needs a --subnet")
        }
        var ipam: [JSONValue] = []
        for (index, subnet) in subnet.enumerated() {
            var config: [String: JSONValue] = ["Subnet": .string(subnet)]
            if index < gateway.count { config["Gateway"] = .string(gateway[index]) }
            if index < ipRange.count { config["IPRange"] = .string(ipRange[index]) }
            // Each auxiliary address goes with the subnet of its family, as docker pairs them.
            let aux = Self.pairs(auxAddress).filter { ($0.value.string ?? "").contains(":") == subnet.contains(":") }
            if !aux.isEmpty { config["AuxiliaryAddresses"] = .object(aux) }
            ipam.append(.object(config))
        }
        if subnet.isEmpty && !auxAddress.isEmpty { throw CLIError.usage("no matching subnet for aux-address") }
        let body: JSONValue = .object([
            "Name": .string(name), "Driver": .string(driver), "Internal": .bool(`internal`), "Attachable": .bool(attachable), "EnableIPv6": .bool(ipv6),
            "IPAM": .object(["Driver": .string("default"), "Config": .array(ipam)]),
            "Options": .object(Self.pairs(opt)), "Labels": .object(Self.pairs(label)),
        ])
        print(try session.client.request("POST", "/networks/create", body: body).json["Id"]?.string ?? "")
    }

    static func pairs(_ entries: [String]) -> [String: JSONValue] {
        var pairs: [String: JSONValue] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            pairs[parts.first ?? ""] = .string(parts.count > 1 ? parts[1] : "")
        }
        return pairs
    }
}

struct NetworkInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more networks")
    @OptionGroup var inspect: Inspect
    func run() throws { try inspect.run(only: "network") }
}

struct NetworkRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more networks", aliases: ["remove"])
    @Flag(name: [.short, .long], help: "Do not error if the network does not exist") var force = false
    @Argument var networks: [String]

    func run() throws {
        try forEachName(networks) { name in
            do { _ = try session.client.request("DELETE", "/networks/\(name)") } catch let EngineClient.Failure.api(status, _) where status == 404 && force {}
            return name
        }
    }
}

struct NetworkPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all unused networks")
    @Flag(name: [.short, .long], help: "Do not prompt for confirmation") var force = false
    @Option(help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []

    func run() throws {
        guard force || confirmPrune("This will remove all custom networks not used by at least one container.") else { return }
        let names = try session.client.request("POST", "/networks/prune", query: try filtersQuery(filter)).json["NetworksDeleted"]?.strings ?? []
        if !names.isEmpty { print("Deleted Networks:\n" + names.map { $0 + "\n" }.joined()) }
    }
}

struct NetworkConnect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect", abstract: "Connect a container to a network")
    @Option(name: .customLong("alias"), help: "Add network-scoped alias for the container") var alias: [String] = []
    @Option(help: "IPv4 address (e.g., 172.30.100.104)") var ip: String?
    @Option(help: "IPv6 address (e.g., 2001:db8::33)") var ip6: String?
    @Option(name: .customLong("mac-address"), help: "MAC address of the container on this network") var macAddress: String?
    @Option(name: .customLong("gw-priority"), help: "Highest priority network gives the container its default gateway") var gwPriority: Int64?
    @Option(name: .customLong("link"), help: "Add link to another container (NAME[:ALIAS])") var link: [String] = []
    @Argument var network: String
    @Argument var container: String

    func run() throws {
        let endpoint = ContainerOptions.NetworkOption(name: network, aliases: alias, ip: ip, ip6: ip6, macAddress: macAddress, gwPriority: gwPriority, links: link)
        let body = JSONValue.object(["Container": .string(container), "EndpointConfig": endpoint.settings])
        _ = try session.client.request("POST", "/networks/\(network)/connect", body: body)
    }
}

struct NetworkDisconnect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disconnect", abstract: "Disconnect a container from a network")
    @Flag(name: [.short, .long], help: "Force the container to disconnect from a network") var force = false
    @Argument var network: String
    @Argument var container: String

    func run() throws {
        let body = JSONValue.object(["Container": .string(container), "Force": .bool(force)])
        _ = try session.client.request("POST", "/networks/\(network)/disconnect", body: body)
    }
}
