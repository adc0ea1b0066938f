import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation

/// docker's confirmation before a prune: anything but "y"/"yes" (or no input) declines.
func confirmPrune(_ warning: String) -> Bool {
    FileHandle.standardOutput.write(Data("WARNING! \(warning)\nAre you sure you want to continue? [y/N] ".utf8))
    let answer = (readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    return answer == "y" || answer == "yes"
}

/// Prunes print what went and the space it freed, as docker does.
struct PruneReport {
    var sections: [(title: String, lines: [String])] = []
    var reclaimed: Int64 = 0

    func print() {
        for section in sections where !section.lines.isEmpty {
            Swift.print(section.title + ":")
            for line in section.lines { Swift.print(line) }
            Swift.print("")
        }
        Swift.print("Total reclaimed space: \(Human.size(reclaimed))")
    }

    static func containers(_ filters: [String]) throws -> (lines: [String], reclaimed: Int64) {
        let answer = try session.client.request("POST", "/containers/prune", query: try filtersQuery(filters)).json
        return (answer["ContainersDeleted"]?.strings ?? [], answer["SpaceReclaimed"]?.int ?? 0)
    }

    static func networks(_ filters: [String]) throws -> [String] {
        try session.client.request("POST", "/networks/prune", query: try filtersQuery(filters)).json["NetworksDeleted"]?.strings ?? []
    }

    /// The unused anonymous volumes (every unused one with `all`).
    static func volumes(all: Bool, _ filters: [String]) throws -> (lines: [String], reclaimed: Int64) {
        let answer = try session.client.request("POST", "/volumes/prune", query: try filtersQuery(filters + (all ? ["all=true"] : []))).json
        return (answer["VolumesDeleted"]?.strings ?? [], answer["SpaceReclaimed"]?.int ?? 0)
    }

    static func images(all: Bool, _ filters: [String]) throws -> (lines: [String], reclaimed: Int64) {
        let answer = try session.client.request("POST", "/images/prune", query: try filtersQuery(filters + ["dangling=\(all ? "false" : "true")"])).json
        let lines = (answer["ImagesDeleted"]?.array ?? []).compactMap { entry in
            entry["Untagged"]?.string.map { "untagged: \($0)" } ?? entry["Deleted"]?.string.map { "deleted: \($0)" }
        }
        return (lines, answer["SpaceReclaimed"]?.int ?? 0)
    }
}

struct ContainerPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all stopped containers")
    @Flag(name: [.short, .long], help: "Do not prompt for confirmation") var force = false
    @Option(help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []

    func run() throws {
        guard force || confirmPrune("This will remove all stopped containers.") else { return }
        let (lines, reclaimed) = try PruneReport.containers(filter)
        PruneReport(sections: [("Deleted Containers", lines)], reclaimed: reclaimed).print()
    }
}

struct ImagePrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused images")
    @Flag(name: [.short, .long], help: "Remove all unused images, not just dangling ones") var all = false
    @Flag(name: [.short, .long], help: "Do not prompt for confirmation") var force = false
    @Option(help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []

    func run() throws {
        let warning = all ? "This will remove all images without at least one container associated to them." : "This will remove all dangling images."
        guard force || confirmPrune(warning) else { return }
        let (lines, reclaimed) = try PruneReport.images(all: all, filter)
        PruneReport(sections: [("Deleted Images", lines)], reclaimed: reclaimed).print()
    }
}

struct SystemPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused data")
    @Flag(name: [.short, .long], help: "Remove all unused images not just dangling ones") var all = false
    @Flag(name: [.short, .long], help: "Do not prompt for confirmation") var force = false
    @Flag(help: "Prune anonymous volumes") var volumes = false
    @Option(help: "Provide filter values (e.g. \"label=<key>=<value>\")") var filter: [String] = []

    func run() throws {
        var items = ["all stopped containers", "all networks not used by at least one container"]
        if volumes { items.append("all anonymous volumes not used by at least one container") }
        items.append(all ? "all images without at least one container associated to them" : "all dangling images")
        items.append("unused build cache")
        guard force || confirmPrune("This will remove:\n" + items.map { "  - " + $0 }.joined(separator: "\n") + "\n") else { return }
        // docker's order: containers, networks, volumes, images.
        let containers = try PruneReport.containers(filter)
        let networks = try PruneReport.networks(filter.filter { !$0.hasPrefix("dangling") })
        let volumes: (lines: [String], reclaimed: Int64) = self.volumes ? try PruneReport.volumes(all: false, filter.filter { $0.hasPrefix("label") }) : ([], 0)
        let images = try PruneReport.images(all: all, filter)
        PruneReport(sections: [("Deleted Containers", containers.lines), ("Deleted Networks", networks), ("Deleted Volumes", volumes.lines),
                               ("Deleted Images", images.lines)],
                    reclaimed: containers.reclaimed + volumes.reclaimed + images.reclaimed).print()
    }
}

struct DiskUsage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df", abstract: "Show docker disk usage")
    @Option(help: "Format output using a custom template") var format: String?

    static let headers = ["Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"]

    func run() throws {
        let usage = try session.client.request("GET", "/system/df").json
        let images = usage["Images"]?.array ?? [], containers = usage["Containers"]?.array ?? []
        let volumes = usage["Volumes"]?.array ?? [], cache = usage["BuildCache"]?.array ?? []
        let imagesSize = usage["LayersSize"]?.int ?? 0
        let imagesUsed = images.filter { ($0["Containers"]?.int ?? 0) > 0 }
            .reduce(Int64(0)) { $0 + ($1["Size"]?.int ?? 0) - max(0, $1["SharedSize"]?.int ?? 0) }
        let containersSize = containers.reduce(Int64(0)) { $0 + ($1["SizeRw"]?.int ?? 0) }
        let containersFree = containers.filter { $0["State"]?.string != "running" }.reduce(Int64(0)) { $0 + ($1["SizeRw"]?.int ?? 0) }
        let volumesSize = volumes.reduce(Int64(0)) { $0 + max(0, $1["UsageData"]?["Size"]?.int ?? 0) }
        let volumesFree = volumes.filter { ($0["UsageData"]?["RefCount"]?.int ?? 0) == 0 }
            .reduce(Int64(0)) { $0 + max(0, $1["UsageData"]?["Size"]?.int ?? 0) }
        let cacheSize = cache.reduce(Int64(0)) { $0 + ($1["Size"]?.int ?? 0) }
        let rows: [JSONValue] = [
            Self.row("Images", images.count, imagesUsed > 0 ? images.filter { ($0["Containers"]?.int ?? 0) > 0 }.count : 0,
                     imagesSize, imagesSize - imagesUsed),
            Self.row("Containers", containers.count, containers.filter { $0["State"]?.string == "running" }.count, containersSize, containersFree),
            Self.row("Local Volumes", volumes.count, volumes.filter { ($0["UsageData"]?["RefCount"]?.int ?? 0) > 0 }.count, volumesSize, volumesFree),
            Self.row("Build Cache", cache.count, cache.filter { $0["InUse"]?.bool == true }.count, cacheSize, cacheSize, percent: false),
        ]
        let output = try OutputFormat(format ?? "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", headers: Self.headers)
        print(try output.render(rows), terminator: "")
    }

    /// go-units' `HumanSize` (4 significant digits) and docker's "(N%)" of the total.
    static func row(_ type: String, _ total: Int, _ active: Int, _ size: Int64, _ reclaimable: Int64, percent: Bool = true) -> JSONValue {
        var free = Human.size(reclaimable, digits: 4)
        if percent && size > 0 { free += " (\(reclaimable * 100 / size)%)" }
        return .object(["Type": .string(type), "TotalCount": .string(String(total)), "Active": .string(String(active)),
                        "Size": .string(Human.size(size, digits: 4)), "Reclaimable": .string(free)])
    }
}

// MARK: Management command groups (`berth image ls`, `berth container rm`, `berth system df`)

struct ImageGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images",
        subcommands: [ImageList.self, ImageRemove.self, ImageInspectCommand.self, History.self, ImagePrune.self, Tag.self,
                      Save.self, Load.self, Import.self, Pull.self, Push.self])
}

struct ContainerGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers",
        subcommands: [ContainerList.self, Remove.self, ContainerInspect.self, Run.self, Create.self, Start.self, Stop.self,
                      Kill.self, Restart.self, Pause.self, Unpause.self, Rename.self, Wait.self, Logs.self, Exec.self, Top.self,
                      Attach.self, Stats.self, Update.self, Copy.self, Export.self, Diff.self, Commit.self, ContainerPrune.self, PortCommand.self])
}

struct SystemGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system", abstract: "Manage Berth",
        subcommands: [DiskUsage.self, SystemPrune.self, Info.self, Events.self])
}

struct ImageList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images", aliases: ["list"])
    @OptionGroup var images: Images
    func run() throws { try images.run() }
}

struct ImageRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more images", aliases: ["remove"])
    @OptionGroup var remove: RemoveImage
    func run() throws { try remove.run() }
}

struct ImageInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more images")
    @OptionGroup var inspect: Inspect
    func run() throws { try inspect.run(only: "image") }
}

struct ContainerList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers", aliases: ["ps", "list"])
    @OptionGroup var ps: PS
    func run() throws { try ps.run() }
}

struct ContainerInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more containers")
    @OptionGroup var inspect: Inspect
    func run() throws { try inspect.run(only: "container") }
}
