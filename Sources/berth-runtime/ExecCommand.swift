import ArgumentParser
import BerthOCI
import BerthRuntime
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a new process inside a container.")
    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "JSON file with the process (runtime-spec `process`).")
    var process: String?
    @Flag(name: [.short, .long], help: "Allocate a pseudo-terminal.") var tty = false
    @Flag(name: [.short, .long], help: "Return once the process runs.") var detach = false
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(name: .customLong("pid-file"), help: "File to write the process's pid to.") var pidFile: String?
    @Option(help: "Working directory in the container.") var cwd: String?
    @Option(name: [.short, .long], help: "Set an environment variable (NAME=value).") var env: [String] = []
    @Option(name: [.short, .long], help: "User as uid[:gid].") var user: String?
    @Option(name: [.customShort("g"), .customLong("additional-gids")], help: "Additional group ids.") var additionalGids: [UInt32] = []
    @Option(name: [.customShort("c"), .customLong("cap")], help: "Add a capability.") var caps: [String] = []
    @Flag(name: .customLong("no-new-privs"), help: "Set no_new_privs.") var noNewPrivs = false
    @Option(name: .customLong("preserve-fds"), help: "Pass this many extra fds (from 3 on).") var preserveFDs: Int32 = 0
    @Option(name: .customLong("process-label"), help: .hidden) var processLabel: String?
    @Option(help: .hidden) var apparmor: String?
    @Flag(help: "Allow exec in a paused container.") var ignorePaused = false

    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        let code: Int32
        do { code = try execute() } catch let error as RuntimeError {
            // runc: an exec that could not run its process exits 255, "exec failed: <reason>".
            BerthRuntimeCommand.report("exec failed: \(error)")
            throw ContainerExit(code: 255)
        }
        if code != 0 { throw ContainerExit(code: code) }
    }

    private func execute() throws -> Int32 {
        let runtime = try global.runtime()
        let spec: RuntimeSpec.Process
        if let path = process {
            let data: Data
            if let contents = FileManager.default.contents(atPath: path) { data = contents } else {
                throw ValidationError("cannot read process file \(path)")
            }
            do { spec = try JSONDecoder().decode(RuntimeSpec.Process.self, from: data) } catch {
                throw ValidationError("invalid process file \(path): \(error)")
            }
        } else {
            guard !command.isEmpty else { throw ValidationError("exec needs a command or --process") }
            spec = try fromContainer(runtime)
        }
        var options = Runtime.ExecOptions()
        options.consoleSocket = consoleSocket
        options.pidFile = pidFile
        options.detach = detach
        options.preserveFDs = preserveFDs
        options.ignorePaused = ignorePaused
        return try runtime.exec(id: id, process: spec, options: options)
    }

    /// runc's behaviour without --process: the container's process settings with these overrides.
    private func fromContainer(_ runtime: Runtime) throws -> RuntimeSpec.Process {
        var p = try runtime.store.spec(id).process ?? RuntimeSpec.Process()
        p.args = command
        p.terminal = tty
        p.consoleSize = nil
        if let cwd { p.cwd = cwd }
        if !env.isEmpty { p.env = (p.env ?? []) + env }
        if let user {
            let parts = user.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let uid = UInt32(parts[0]), parts.count < 2 || UInt32(parts[1]) != nil else {
                throw ValidationError("--user must be uid[:gid], got \(user)")
            }
            p.user.uid = uid
            p.user.gid = parts.count == 2 ? UInt32(parts[1])! : 0
        }
        if !additionalGids.isEmpty { p.user.additionalGids = additionalGids }
        if noNewPrivs { p.noNewPrivileges = true }
        if !caps.isEmpty {
            var c = p.capabilities ?? .init()
            func add(_ set: [String]?) -> [String] { (set ?? []) + caps.filter { !(set ?? []).contains($0) } }
            c.bounding = add(c.bounding)
            c.effective = add(c.effective)
            c.permitted = add(c.permitted)
            c.ambient = add(c.ambient)
            c.inheritable = add(c.inheritable)
            p.capabilities = c
        }
        return p
    }
}
