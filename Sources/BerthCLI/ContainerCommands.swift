import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation

/// Applies `action` to each named container as docker does: the name is printed on success,
/// errors are printed and make the exit status 1 after the rest are tried.
func forEachContainer(_ names: [String], _ action: (String) throws -> Void) throws {
    try forEachName(names) { name in
        try action(name)
        return name
    }
}

/// Runs `action` for each name, printing what it returns; an API error is printed and the
/// others still run, then the exit status is 1 (docker's way with several objects).
func forEachName(_ names: [String], _ action: (String) throws -> String) throws {
    var failed = false
    for name in names {
        do {
            print(try action(name))
        } catch let error as EngineClient.Failure {
            if case .unreachable = error { throw error }
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            failed = true
        }
    }
    if failed { throw CLIError.exitCode(1) }
}

/// `--filter k=v` flags as the API's `filters` JSON.
func filtersQuery(_ filters: [String]) throws -> [(String, String)] {
    guard !filters.isEmpty else { return [] }
    var grouped: [String: JSONValue] = [:]
    for filter in filters {
        let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw CLIError.usage("bad format of filter (expected name=value)") }
        var values = grouped[parts[0]]?.object ?? [:]
        values[parts[1]] = .bool(true)
        grouped[parts[0]] = .object(values)
    }
    return [("filters", Evaluator.json(.object(grouped)))]
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop one or more running containers")
    @Option(name: [.short, .customLong("time"), .customLong("timeout")], help: "Seconds to wait before killing the container") var time: Int?
    @Option(name: [.short, .long], help: "Signal to send to the container") var signal: String?
    @Argument var containers: [String]

    func run() throws {
        var query: [(String, String)] = []
        if let time { query.append(("t", String(time))) }
        if let signal { query.append(("signal", signal)) }
        try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/stop", query: query) }
    }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Kill one or more running containers")
    @Option(name: [.short, .long], help: "Signal to send to the container") var signal: String?
    @Argument var containers: [String]

    func run() throws {
        try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/kill", query: signal.map { [("signal", $0)] } ?? []) }
    }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart one or more containers")
    @Option(name: [.short, .customLong("time"), .customLong("timeout")], help: "Seconds to wait before killing the container") var time: Int?
    @Argument var containers: [String]

    func run() throws {
        try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/restart", query: time.map { [("t", String($0))] } ?? []) }
    }
}

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more containers")
    @Flag(name: [.short, .long], help: "Force the removal of a running container (uses SIGKILL)") var force = false
    @Flag(name: [.short, .long], help: "Remove anonymous volumes associated with the container") var volumes = false
    @Argument var containers: [String]

    func run() throws {
        try forEachContainer(containers) {
            _ = try session.client.request("DELETE", "/containers/\($0)", query: [("force", force ? "1" : "0"), ("v", volumes ? "1" : "0")])
        }
    }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause all processes within one or more containers")
    @Argument var containers: [String]
    func run() throws { try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/pause") } }
}

struct Unpause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unpause all processes within one or more containers")
    @Argument var containers: [String]
    func run() throws { try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/unpause") } }
}

struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rename a container")
    @Argument var container: String
    @Argument var newName: String
    func run() throws { _ = try session.client.request("POST", "/containers/\(container)/rename", query: [("name", newName)]) }
}

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Update configuration of one or more containers")
    @Option(help: "Number of CPUs") var cpus: Double?
    @Option(name: [.short, .customLong("cpu-shares")], help: "CPU shares (relative weight)") var cpuShares: Int?
    @Option(help: "Limit CPU CFS (Completely Fair Scheduler) period") var cpuPeriod: Int?
    @Option(help: "Limit CPU CFS (Completely Fair Scheduler) quota") var cpuQuota: Int?
    @Option(help: "Limit CPU real-time period in microseconds") var cpuRtPeriod: Int?
    @Option(help: "Limit CPU real-time runtime in microseconds") var cpuRtRuntime: Int?
    @Option(help: "CPUs in which to allow execution (0-3, 0,1)") var cpusetCpus: String?
    @Option(help: "MEMs in which to allow execution (0-3, 0,1)") var cpusetMems: String?
    @Option(name: [.short, .long], help: "Memory limit") var memory: String?
    @Option(help: "Memory soft limit") var memoryReservation: String?
    @Option(help: "Swap limit equal to memory plus swap: -1 to enable unlimited swap") var memorySwap: String?
    @Option(help: "Tune container pids limit (set -1 for unlimited)") var pidsLimit: Int?
    @Option(help: "Block IO (relative weight), between 10 and 1000, or 0 to disable") var blkioWeight: Int?
    @Option(help: "Restart policy to apply when a container exits") var restart: String?
    @Argument var containers: [String]

    func run() throws {
        var body: [String: JSONValue] = [:]
        body["Memory"] = try ResourceOptions.size(memory, flag: "-m, --memory")
        body["MemoryReservation"] = try ResourceOptions.size(memoryReservation, flag: "--memory-reservation")
        body["MemorySwap"] = try ResourceOptions.size(memorySwap, flag: "--memory-swap", unlimited: true)
        if let cpuRtPeriod { body["CpuRealtimePeriod"] = .int(Int64(cpuRtPeriod)) }
        if let cpuRtRuntime { body["CpuRealtimeRuntime"] = .int(Int64(cpuRtRuntime)) }
        if let cpus { body["NanoCpus"] = .int(Int64(cpus * 1e9)) }
        if let cpuShares { body["CpuShares"] = .int(Int64(cpuShares)) }
        if let cpuPeriod { body["CpuPeriod"] = .int(Int64(cpuPeriod)) }
        if let cpuQuota { body["CpuQuota"] = .int(Int64(cpuQuota)) }
        if let cpusetCpus { body["CpusetCpus"] = .string(cpusetCpus) }
        if let cpusetMems { body["CpusetMems"] = .string(cpusetMems) }
        if let pidsLimit { body["PidsLimit"] = .int(Int64(pidsLimit)) }
        if let blkioWeight { body["BlkioWeight"] = .int(Int64(blkioWeight)) }
        if let restart {
            let parts = restart.split(separator: ":", maxSplits: 1).map(String.init)
            body["RestartPolicy"] = .object(["Name": .string(parts[0]), "MaximumRetryCount": .int(Int64(parts.count > 1 ? Int(parts[1]) ?? 0 : 0))])
        }
        guard !body.isEmpty else { throw CLIError.usage("you must provide one or more flags when using this command") }
        try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/update", body: .object(body)) }
    }
}

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Block until one or more containers stop, then print their exit codes")
    @Argument var containers: [String]

    func run() throws {
        try forEachName(containers) { name in
            String(try session.client.request("POST", "/containers/\(name)/wait").json["StatusCode"]?.int ?? -1)
        }
    }
}

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Display the running processes of a container")
    @Argument var container: String
    @Argument(parsing: .captureForPassthrough) var psOptions: [String] = []

    func run() throws {
        let top = try session.client.request("GET", "/containers/\(container)/top",
                                             query: psOptions.isEmpty ? [] : [("ps_args", psOptions.joined(separator: " "))]).json
        let titles = top["Titles"]?.strings ?? []
        let rows = (top["Processes"]?.array ?? []).map { $0.strings ?? [] }
        // docker top's tabwriter has a minimum cell width of 20.
        print(Table.render([titles] + rows, minWidth: 20), terminator: "")
    }
}

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fetch the logs of a container")
    @Flag(name: [.short, .long], help: "Follow log output") var follow = false
    @Flag(name: [.short, .long], help: "Show timestamps") var timestamps = false
    @Flag(help: "Show extra details provided to logs") var details = false
    @Option(name: [.customShort("n"), .customLong("tail")], help: "Number of lines to show from the end of the logs") var tail: String = "all"
    @Option(help: "Show logs since timestamp or relative (e.g. 42m)") var since: String?
    @Option(help: "Show logs before a timestamp or relative (e.g. 42m)") var until: String?
    @Argument var container: String

    func run() throws {
        let info = try session.client.inspectContainer(container)
        var query = [("stdout", "1"), ("stderr", "1"), ("tail", tail), ("follow", follow ? "1" : "0"), ("timestamps", timestamps ? "1" : "0")]
        if details { query.append(("details", "1")) }
        if let since { query.append(("since", try Timestamps.parse(since))) }
        if let until { query.append(("until", try Timestamps.parse(until))) }
        let demuxer = StreamDemuxer(tty: info.config?.tty ?? false)
        try session.client.stream("GET", "/containers/\(container)/logs", query: query) { demuxer.feed($0) }
    }
}

/// `--since`/`--until` values: RFC 3339, Unix seconds, or a duration before now (`10m`, `1h30m`).
enum Timestamps {
    static func parse(_ text: String) throws -> String {
        if Double(text) != nil { return text }
        if let date = Date.parseTimestamp(text), text.contains("-") { return String(date.timeIntervalSince1970) }
        var seconds = 0.0, number = ""
        for character in text {
            if character.isNumber || character == "." { number.append(character); continue }
            guard let value = Double(number) else { throw CLIError.usage("invalid time \(text)") }
            switch character {
            case "h": seconds += value * 3600
            case "m": seconds += value * 60
            case "s": seconds += value
            default: throw CLIError.usage("invalid time \(text)")
            }
            number = ""
        }
        guard number.isEmpty else { throw CLIError.usage("invalid time \(text): missing unit") }
        return String(Date().timeIntervalSince1970 - seconds)
    }
}
