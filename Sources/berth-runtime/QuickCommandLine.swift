import ArgumentParser
import BerthRuntime
import BerthSystem

/// The global settings of one invocation, whichever parser read them.
struct RuntimeSettings {
    var root = "/run/berth-runtime"
    var log: String?
    var logFormat = "text"
    var debug = false
    var systemdCgroup = false

    /// Sets up logging and returns the runtime rooted at `root`.
    func runtime() throws -> Runtime {
        guard let format = RuntimeLog.Format(rawValue: logFormat) else {
            throw ValidationError("--log-format must be text or json, not \(logFormat)")
        }
        RuntimeLog.shared = RuntimeLog(path: log, format: format, debug: debug)
        return Runtime(root: root, cgroupDriver: systemdCgroup ? .systemd : .cgroupfs)
    }
}

/// The commands a shim runs for every container (`create`, `start`, `state`, `kill`,
/// `delete`), read without ArgumentParser: its reflection over the command's properties costs
/// about 2 ms per invocation on a small VM, more than `start` itself. Only the plain spellings
/// are taken here (runc's flags, `--flag value` or `--flag=value`); anything else, including
/// help and every mistake, goes to ArgumentParser for its messages.
enum QuickCommandLine {
    /// Runs the command and returns true, or returns false without doing anything.
    static func run(_ arguments: [String]) throws -> Bool {
        guard let command = parse(arguments) else { return false }
        switch command.name {
        case "create":
            var options = Runtime.CreateOptions(bundle: command.values["--bundle"] ?? ".")
            options.consoleSocket = command.values["--console-socket"]
            options.pidFile = command.values["--pid-file"]
            options.noPivot = command.flags.contains("--no-pivot")
            options.noNewKeyring = command.flags.contains("--no-new-keyring")
            if let count = command.values["--preserve-fds"] {
                guard let number = Int32(count) else { return false }
                options.preserveFDs = number
            }
            try command.settings.runtime().create(id: command.positionals[0], options: options)
        case "start":
            try command.settings.runtime().start(id: command.positionals[0])
        case "state":
            try State.perform(command.settings, id: command.positionals[0])
        case "kill":
            guard let signal = Signals.number(command.positionals.count > 1 ? command.positionals[1] : "SIGTERM") else { return false }
            try command.settings.runtime().kill(id: command.positionals[0], signal: signal, all: command.flags.contains("--all"))
        case "delete":
            try Delete.perform(command.settings, id: command.positionals[0], force: command.flags.contains("--force"))
        default:
            return false
        }
        return true
    }

    struct Command {
        var name: String
        var settings = RuntimeSettings()
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var positionals: [String] = []
    }

    /// Per command: options that take a value, flags, and how many positionals (min, max).
    private static let grammar: [String: (values: Set<String>, flags: Set<String>, positionals: ClosedRange<Int>)] = [
        "create": (["--bundle", "--console-socket", "--pid-file", "--preserve-fds"], ["--no-pivot", "--no-new-keyring"], 1...1),
        "start": ([], [], 1...1),
        "state": ([], [], 1...1),
        "kill": ([], ["--all"], 1...2),
        "delete": ([], ["--force"], 1...1),
    ]
    private static let shortNames = ["-b": "--bundle", "-a": "--all", "-f": "--force"]
    private static let globalValues: Set<String> = ["--root", "--log", "--log-format", "--criu", "--rootless"]
    private static let globalFlags: Set<String> = ["--debug", "--systemd-cgroup"]

    /// The command, or nil for anything this reader does not take.
    static func parse(_ arguments: [String]) -> Command? {
        var command: Command?
        var globals: [String: String] = [:]
        var globalFlagsSeen: Set<String> = []
        var index = 0
        func value(_ inline: String?) -> String? {
            if let inline { return inline }
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("-") && argument != "-" {
                let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = shortNames[String(parts[0])] ?? String(parts[0])
                let inline = parts.count == 2 ? String(parts[1]) : nil
                if globalValues.contains(name) {
                    guard let v = value(inline) else { return nil }
                    globals[name] = v
                } else if globalFlags.contains(name), inline == nil {
                    globalFlagsSeen.insert(name)
                } else if let current = command?.name, let rules = grammar[current] {
                    if rules.values.contains(name) {
                        guard let v = value(inline) else { return nil }
                        command!.values[name] = v
                    } else if rules.flags.contains(name), inline == nil {
                        command!.flags.insert(name)
                    } else {
                        return nil
                    }
                } else {
                    return nil
                }
            } else if command == nil {
                guard grammar[argument] != nil else { return nil }
                command = Command(name: argument)
            } else {
                command!.positionals.append(argument)
            }
            index += 1
        }
        guard var result = command, grammar[result.name]!.positionals.contains(result.positionals.count) else { return nil }
        result.settings.root = globals["--root"] ?? result.settings.root
        result.settings.log = globals["--log"]
        result.settings.logFormat = globals["--log-format"] ?? result.settings.logFormat
        guard RuntimeLog.Format(rawValue: result.settings.logFormat) != nil else { return nil }
        result.settings.debug = globalFlagsSeen.contains("--debug")
        result.settings.systemdCgroup = globalFlagsSeen.contains("--systemd-cgroup")
        return result
    }
}
