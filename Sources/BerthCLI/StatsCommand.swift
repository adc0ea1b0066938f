import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation
import Synchronization
import Glibc

/// `berth stats`: docker's live table of CPU, memory, network, block I/O and pids, from the
/// Engine API's stats JSON, computed as the docker CLI computes it.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Display a live stream of container(s) resource usage statistics")
    @Flag(name: [.short, .long], help: "Show all containers (default shows just running)") var all = false
    @Option(help: "Format output using a custom template") var format: String?
    @Flag(help: "Disable streaming stats and only pull the first result") var noStream = false
    @Flag(help: "Do not truncate output") var noTrunc = false
    @Argument var containers: [String] = []

    static let headers = ["Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
                          "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"]
    static let defaultFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

    func run() throws {
        var names = containers
        if names.isEmpty {
            names = try session.client.listContainers(query: [("all", all ? "1" : "0")]).compactMap(\.id)
        }
        let output = try OutputFormat(format ?? Self.defaultFormat, headers: Self.headers)
        let board = StatsBoard(order: names)
        if noStream {
            for name in names {
                let stats = try session.client.request("GET", "/containers/\(name)/stats", query: [("stream", "0")]).json
                board.update(name, row(name, stats))
            }
            print(try output.render(board.rows), terminator: "")
            return
        }
        // One stream per container; the table is redrawn every second, as docker's.
        let client = session.client
        for name in names {
            Thread.detachNewThread {
                _ = try? client.streamJSONLines("GET", "/containers/\(name)/stats", query: [("stream", "1")]) { stats, _ in
                    board.update(name, row(name, stats))
                }
                board.finish(name)
            }
        }
        let terminal = isatty(1) == 1
        while !board.allFinished {
            usleep(1_000_000)
            let text = try output.render(board.rows)
            print((terminal ? "\u{1B}[2J\u{1B}[H" : "") + text, terminator: "")
            fflush(nil)
        }
    }

    /// The fields docker's stats formatter offers.
    func row(_ name: String, _ stats: JSONValue) -> JSONValue {
        let id = stats["id"]?.string ?? name
        let cpu = stats["cpu_stats"], previous = stats["precpu_stats"]
        let cpuDelta = Double((cpu?["cpu_usage"]?["total_usage"]?.int ?? 0) - (previous?["cpu_usage"]?["total_usage"]?.int ?? 0))
        let systemDelta = Double((cpu?["system_cpu_usage"]?.int ?? 0) - (previous?["system_cpu_usage"]?.int ?? 0))
        let online = Double(cpu?["online_cpus"]?.int ?? 1)
        let cpuPercent = systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * online * 100 : 0
        let memory = stats["memory_stats"]
        var usage = memory?["usage"]?.int ?? 0
        // Page cache the kernel can drop is not "used" (v1: total_inactive_file, v2: inactive_file).
        let inactive = memory?["stats"]?["total_inactive_file"]?.int ?? memory?["stats"]?["inactive_file"]?.int ?? 0
        if inactive < usage { usage -= inactive }
        let limit = memory?["limit"]?.int ?? 0
        var received: Int64 = 0, sent: Int64 = 0
        for (_, network) in stats["networks"]?.object ?? [:] {
            received += network["rx_bytes"]?.int ?? 0
            sent += network["tx_bytes"]?.int ?? 0
        }
        var read: Int64 = 0, written: Int64 = 0
        for entry in stats["blkio_stats"]?["io_service_bytes_recursive"]?.array ?? [] {
            switch entry["op"]?.string?.lowercased() {
            case "read": read += entry["value"]?.int ?? 0
            case "write": written += entry["value"]?.int ?? 0
            default: break
            }
        }
        var displayName = stats["name"]?.string ?? name
        if displayName.hasPrefix("/") { displayName.removeFirst() }
        return .object([
            "Container": .string(name), "ID": .string(noTrunc ? id : Human.shortID(id)), "Name": .string(displayName),
            "CPUPerc": .string(String(format: "%.2f%%", cpuPercent)),
            "MemUsage": .string(Self.binarySize(usage) + " / " + Self.binarySize(limit)),
            "MemPerc": .string(String(format: "%.2f%%", limit > 0 ? Double(usage) / Double(limit) * 100 : 0)),
            "NetIO": .string(Human.size(received) + " / " + Human.size(sent)),
            "BlockIO": .string(Human.size(read) + " / " + Human.size(written)),
            "PIDs": .string(String(stats["pids_stats"]?["current"]?.int ?? 0)),
        ])
    }

    /// go-units' `BytesSize`: binary units, 4 significant digits ("1.195MiB", "23.47GiB").
    static func binarySize(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return Human.significant(value, 4) + units[unit]
    }
}

/// The latest row of each container, shared by the stream threads and the drawing loop.
final class StatsBoard: Sendable {
    private struct State {
        var latest: [String: JSONValue] = [:]
        var finished: Set<String> = []
    }

    private let order: [String]
    private let state = Mutex(State())

    init(order: [String]) { self.order = order }

    func update(_ name: String, _ row: JSONValue) { state.withLock { $0.latest[name] = row } }
    func finish(_ name: String) { state.withLock { _ = $0.finished.insert(name) } }
    var allFinished: Bool { state.withLock { $0.finished.count == order.count } }
    var rows: [JSONValue] { state.withLock { state in order.compactMap { state.latest[$0] } } }
}
