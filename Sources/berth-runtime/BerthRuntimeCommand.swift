import ArgumentParser
import BerthRuntime
import CBerthSystem
import Glibc

/// `berth-runtime`: an OCI runtime with runc's command line.
@main
struct BerthRuntimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth-runtime",
        abstract: "Run containers from OCI bundles (runc-compatible command line).",
        version: "berth-runtime version 0.1.0\nspec: \(BerthOCIVersion.spec)",
        subcommands: [
            Create.self, Start.self, Run.self, State.self, Kill.self, Delete.self, Exec.self, List.self,
            Ps.self, Pause.self, Resume.self, Update.self, FeaturesCommand.self, Spec.self,
        ]
    )

    static func main() {
        // The sealed helper between the runtime and a container process (see NamespaceEntry).
        let args = CommandLine.arguments
        if args.count == 3, args[1] == "init", let fd = Int32(args[2]), berth_exe_is_protected() != 0 {
            Bootstrap.run(requestFD: fd)
        }
        do {
            if try QuickCommandLine.run(Array(args.dropFirst())) { Glibc.exit(0) }
            let arguments = GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst()))
            // On any parse error the full parser runs again, for its messages and usage text.
            var command = try (try? parseFast(arguments)) ?? parseAsRoot(arguments)
            try command.run()
        } catch let exit as ContainerExit {
            Glibc.exit(exit.code)
        } catch {
            if let runtimeError = error as? RuntimeError {
                report(runtimeError.description)
                Glibc.exit(1)
            }
            // Help and --version exit 0; every other error exits 1, as runc's do.
            if exitCode(for: error) == .success { exit(withError: error) }
            let message = Array((fullMessage(for: error) + "\n").utf8)
            _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            Glibc.exit(1)
        }
    }

    /// Parses with only the named subcommand's definitions: reflecting over the whole command
    /// tree costs ArgumentParser more than the rest of a `state` call. Help requests and
    /// anything unusual take the full path, for its messages.
    static func parseFast(_ arguments: [String]) throws -> any ParsableCommand {
        guard let name = arguments.first, !arguments.contains(where: { $0 == "--help" || $0 == "-h" }),
              let type = configuration.subcommands.first(where: { $0.configuration.commandName == name }) else {
            throw CleanExit.message("")
        }
        return try type.parseAsRoot(Array(arguments.dropFirst()))
    }

    static func report(_ message: String) {
        RuntimeLog.shared.error(message)
        if RuntimeLog.shared.writesToFile {
            let line = Array("berth-runtime: \(message)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }
}

/// The exit status of a foreground container, passed up to `main`.
struct ContainerExit: Error {
    let code: Int32
}

enum BerthOCIVersion {
    static let spec = "1.2.0"
}

/// runc's global flags; accepted before or after the subcommand.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Directory for container state.")
    var root = "/run/berth-runtime"

    @Option(help: "Log file (default: stderr).")
    var log: String?

    @Option(name: .customLong("log-format"), help: "Log format: text or json.")
    var logFormat = "text"

    @Flag(help: "Log debug messages.")
    var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Take cgroupsPath as slice:prefix:name and place the container where systemd would (needs systemd).")
    var systemdCgroup = false

    @Option(help: .hidden)
    var criu: String?

    static let valued: Set<String> = ["--root", "--log", "--log-format", "--criu", "--rootless"]
    static let flags: Set<String> = ["--debug", "--systemd-cgroup"]

    /// runc takes global flags before the command (`--root R create ID`); ArgumentParser wants
    /// them after it. Moves them there; `--rootless` (a runc global we need not act on) is dropped.
    static func hoisted(_ args: [String]) -> [String] {
        var globals: [String] = []
        var i = 0
        while i < args.count, args[i].hasPrefix("-") {
            let name = String(args[i].split(separator: "=", maxSplits: 1)[0])
            if valued.contains(name) {
                let hasInlineValue = args[i].contains("=")
                if name != "--rootless" {
                    globals.append(args[i])
                    if !hasInlineValue && i + 1 < args.count { globals.append(args[i + 1]) }
                }
                i += hasInlineValue ? 1 : 2
            } else if flags.contains(name) {
                globals.append(args[i])
                i += 1
            } else {
                break
            }
        }
        guard i < args.count, !args[i].hasPrefix("-") else { return args }
        return [args[i]] + globals + args[(i + 1)...]
    }

    var settings: RuntimeSettings {
        RuntimeSettings(root: root, log: log, logFormat: logFormat, debug: debug, systemdCgroup: systemdCgroup)
    }

    /// Sets up logging and returns the runtime rooted at `--root`.
    func runtime() throws -> Runtime { try settings.runtime() }
}
