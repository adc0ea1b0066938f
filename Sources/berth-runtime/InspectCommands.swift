import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers under --root.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json.") var format = "table"
    @Flag(name: [.short, .long], help: "Only print ids.") var quiet = false

    struct Entry: Encodable {
        let ociVersion: String
        let id: String
        let pid: Int32
        let status: String
        let bundle: String
        let rootfs: String
        let created: String
        let owner: String
        let annotations: [String: String]?
    }

    func run() throws {
        let runtime = try global.runtime()
        let entries: [Entry] = runtime.store.ids().compactMap { id in
            guard let (state, record) = try? runtime.state(id: id) else { return nil }
            return Entry(ociVersion: state.ociVersion, id: id, pid: state.pid ?? 0, status: state.status.rawValue,
                         bundle: state.bundle, rootfs: record.rootfs, created: record.created, owner: record.owner,
                         annotations: state.annotations)
        }
        if quiet { entries.forEach { print($0.id) }; return }
        switch format {
        case "json": print(try JSONText.compact(entries))
        case "table":
            let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
                + entries.map { [$0.id, "\($0.pid)", $0.status, $0.bundle, $0.created, $0.owner] }
            print(Table.render(rows), terminator: "")
        default: throw ValidationError("--format must be table or json")
        }
    }
}

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the processes running in a container.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json.") var format = "table"
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Options for ps (default -ef).") var psOptions: [String] = []

    func run() throws {
        let pids = try global.runtime().processes(id: id)
        switch format {
        case "json": print(try JSONText.compact(pids))
        case "table":
            // As runc: run ps on the host and keep the header and the container's lines.
            let output = try Self.capture(["ps"] + (psOptions.isEmpty ? ["-ef"] : psOptions))
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            guard let header = lines.first else { return }
            let columns = header.split(separator: " ")
            guard let pidColumn = columns.firstIndex(of: "PID") else {
                throw ValidationError("ps output has no PID column")
            }
            print(header)
            let wanted = Set(pids)
            for line in lines.dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > pidColumn, let pid = pid_t(fields[pidColumn]), wanted.contains(pid) { print(line) }
            }
        default: throw ValidationError("--format must be table or json")
        }
    }

    static func capture(_ argv: [String]) throws -> String {
        let pipe = try FileDescriptors.pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe.write, 1)
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, args, environ)
        close(pipe.write)
        defer { close(pipe.read) }
        guard rc == 0 else { throw SystemError("run \(argv[0])", errno: .init(rawValue: rc)) }
        let output = try FileDescriptors.readAll(pipe.read)
        _ = try Processes.wait(pid)
        return String(decoding: output, as: UTF8.self)
    }
}

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Print the features this runtime implements.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let caps = Array(Capability.names.prefix(Capability.lastSupported + 1))
        print(try JSONText.pretty(Features.current(capabilities: caps)))
    }
}

struct Spec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json into the bundle directory.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Bundle directory.") var bundle = "."
    @Flag(help: "A spec for a rootless container (user namespace).") var rootless = false

    func run() throws {
        let path = bundle + "/config.json"
        guard !SmallFile.exists(path) else { throw ValidationError("File \(path) exists. Remove it first") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes, .sortedKeys]
        try SmallFile.writeAtomically(path, Array(try encoder.encode(DefaultSpec.make(rootless: rootless))))
    }
}

/// Left-aligned columns separated by spaces, like Go's tabwriter in runc's `list`.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 4) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
