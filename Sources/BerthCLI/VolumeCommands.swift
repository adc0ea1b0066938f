import ArgumentParser
import BerthAPITypes
import BerthClient
import Foundation

/// `berth volume`: docker's volume commands.
struct VolumeGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes",
        subcommands: [VolumeCreate.self, VolumeList.self, VolumeInspect.self, VolumeRemove.self, VolumePrune.self])
}

struct VolumeCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume")
    @Option(name: [.short, .long], help: "Specify volume driver name") var driver = "local"
    @Option(name: [.short, .customLong("opt")], help: "Set driver specific options") var opt: [String] = []
    @Option(help: "Set metadata for a volume") var label: [String] = []
    @Argument var name: String?

    func run() throws {
        let body: JSONValue = .object([
            "Name": .string(name ?? ""), "Driver": .string(driver),
            "DriverOpts": .object(NetworkCreate.pairs(opt)), "Labels": .object(NetworkCreate.pairs(label)),
        ])
        print(try session.client.request("POST", "/volumes/create", body: body).json["Name"]?.string ?? "")
    }
}

struct VolumeList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes", aliases: ["list"])
    @Option(name: [.short, .long], help: "Provide filter values (e.g. \"dangling=true\")") var filter: [String] = []
    @Option(help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .long], help: "Only display volume names") var quiet = false

    static let headers = ["Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS"]

    func run() throws {
        let volumes = (try session.client.request("GET", "/volumes", query: try filtersQuery(filter)).json["Volumes"]?.array ?? [])
            .sorted { ($0["Name"]?.string ?? "") < ($1["Name"]?.string ?? "") }
        let rows: [JSONValue] = volumes.map { volume in
            let labels = volume["Labels"]?.object ?? [:]
            return .object([
                "Name": .string(volume["Name"]?.string ?? ""), "Driver": .string(volume["Driver"]?.string ?? ""),
                "Scope": .string(volume["Scope"]?.string ?? ""), "Mountpoint": .string(volume["Mountpoint"]?.string ?? ""),
                "Labels": .string(labels.keys.sorted().map { "\($0)=\(labels[$0]?.string ?? "")" }.joined(separator: ",")),
            ])
        }
        if quiet {
            for row in rows { print(row["Name"]?.string ?? "") }
            return
        }
        print(try OutputFormat(format ?? "table {{.Driver}}\t{{.Name}}", headers: Self.headers).render(rows), terminator: "")
    }
}

struct VolumeInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more volumes")
    @OptionGroup var inspect: Inspect
    func run() throws { try inspect.run(only: "volume") }
}

struct VolumeRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more volumes", aliases: ["remove"])
    @Flag(name: [.short, .long], help: "Force the removal of one or more volumes") var force = false
    @Argument var volumes: [String]

    func run() throws {
        try forEachName(volumes) { name in
            _ = try session.client.request("DELETE", "/volumes/\(name)", query: force ? [("force", "1")] : [])
            return name
        }
    }
}

struct VolumePrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused local volumes")
    @Flag(name: [.short, .long], help: "Remove all unused volumes, not just anonymous ones") var all = false
    @Flag(name: [.short, .long], help: "Do not prompt for confirmation") var force = false
    @Option(help: "Provide filter values (e.g. \"label=<label>\")") var filter: [String] = []

    func run() throws {
        let warning = all ? "This will remove all local volumes not used by at least one container." : "This will remove anonymous local volumes not used by at least one container."
        guard force || confirmPrune(warning) else { return }
        let (names, reclaimed) = try PruneReport.volumes(all: all, filter)
        PruneReport(sections: [("Deleted Volumes", names)], reclaimed: reclaimed).print()
    }
}
