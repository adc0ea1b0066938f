import ArgumentParser
import BerthRuntime
import BerthSystem
import Glibc

/// Options shared by `create` and `run`.
struct CreateArguments: ParsableArguments {
    @Option(name: [.short, .long], help: "Path to the bundle directory.")
    var bundle = "."

    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.")
    var consoleSocket: String?

    @Option(name: .customLong("pid-file"), help: "File to write the container process's pid to.")
    var pidFile: String?

    @Flag(name: .customLong("no-pivot"), help: "Use MS_MOVE and chroot instead of pivot_root.")
    var noPivot = false

    @Flag(name: .customLong("no-new-keyring"), help: "Keep the caller's session keyring.")
    var noNewKeyring = false

    @Option(name: .customLong("preserve-fds"), help: "Pass this many extra fds (from 3 on) to the container.")
    var preserveFDs: Int32 = 0

    @Argument(help: "Container id.")
    var id: String

    var options: Runtime.CreateOptions {
        var o = Runtime.CreateOptions(bundle: bundle)
        o.consoleSocket = consoleSocket
        o.pidFile = pidFile
        o.noPivot = noPivot
        o.noNewKeyring = noNewKeyring
        o.preserveFDs = preserveFDs
        return o
    }
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container (its process waits for start).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var arguments: CreateArguments

    func run() throws {
        try global.runtime().create(id: arguments.id, options: arguments.options)
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container's process.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try global.runtime().start(id: id)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and start a container; wait for it unless detached.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var arguments: CreateArguments
    @Flag(name: [.short, .long], help: "Return once the container runs.") var detach = false
    @Flag(name: .customLong("keep"), help: "Accepted for compatibility.") var keep = false

    func run() throws {
        let code = try global.runtime().run(id: arguments.id, options: arguments.options, detach: detach)
        if code != 0 { throw ContainerExit(code: code) }
    }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's state as JSON.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    /// runc's state output: the OCI state plus rootfs, created and owner.
    struct Output: Encodable {
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

    func run() throws { try Self.perform(global.settings, id: id) }

    static func perform(_ settings: RuntimeSettings, id: String) throws {
        let (state, record) = try settings.runtime().state(id: id)
        let output = Output(ociVersion: state.ociVersion, id: state.id, pid: state.pid ?? 0, status: state.status.rawValue,
                            bundle: state.bundle, rootfs: record.rootfs, created: record.created, owner: record.owner,
                            annotations: state.annotations)
        print(try JSONText.pretty(output))
    }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal (default SIGTERM) to a container's init process.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Signal every process in the container.") var all = false
    @Argument(help: "Container id.") var id: String
    @Argument(help: "Signal name or number.") var signal = "SIGTERM"

    func run() throws {
        guard let number = Signals.number(signal) else { throw ValidationError("unknown signal \"\(signal)\"") }
        try global.runtime().kill(id: id, signal: number, all: all)
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a container and its resources.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill the container first if it is running.") var force = false
    @Argument(help: "Container id.") var id: String

    func run() throws { try Self.perform(global.settings, id: id, force: force) }

    static func perform(_ settings: RuntimeSettings, id: String, force: Bool) throws {
        let runtime = try settings.runtime()
        do { try runtime.delete(id: id, force: force) } catch RuntimeError.containerNotFound(_) where force {
            // runc: deleting a missing container with --force succeeds.
        }
    }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Freeze every process of a container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws { try global.runtime().pause(id: id) }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Thaw a paused container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws { try global.runtime().resume(id: id) }
}
