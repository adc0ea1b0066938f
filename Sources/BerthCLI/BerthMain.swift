import ArgumentParser
import BerthAPITypes
import BerthClient
import Foundation
import Synchronization

private let sessionStore = Mutex(CLIContext(host: CLIContext.defaultHost, configDirectory: ""))

/// The context every command uses; set once by `BerthMain` before the command runs.
var session: CLIContext {
    get { sessionStore.withLock { $0 } }
    set { sessionStore.withLock { $0 = newValue } }
}

/// `berth`: docker's command line over the Engine API.
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A container engine with Docker's command line.",
        version: "berth version \(EngineAPIVersion.engine)",
        subcommands: [
            Run.self, Create.self, Start.self, Stop.self, Kill.self, Restart.self, Remove.self, Pause.self, Unpause.self,
            Rename.self, Wait.self, PS.self, Logs.self, Exec.self, Inspect.self, Top.self, PortCommand.self,
            Attach.self, Stats.self, Update.self, Copy.self, Export.self, Diff.self, Commit.self, Events.self,
            Images.self, RemoveImage.self, Tag.self, Pull.self, Push.self, Save.self, Load.self, Import.self, History.self,
            Login.self, Logout.self, Version.self, Info.self, ContextGroup.self, ImageGroup.self, ContainerGroup.self, SystemGroup.self,
            NetworkGroup.self,
            VolumeGroup.self,
        ])
}

/// Entry point: global options, the command, and docker's exit codes and messages.
public enum BerthMain {
    public static func main() -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let rest: [String]
        do {
            let parsed = try CLIContext.parse(arguments, environment: ProcessInfo.processInfo.environment)
            (session, rest) = parsed
        } catch {
            fail("\(error)\nSee 'berth --help'.", code: 125)
        }
        if let first = rest.first, !first.hasPrefix("-"), !Self.commandNames.contains(first), first != "help" {
            var message = "berth: '\(first)' is not a berth command."
            if let suggestion = Self.closest(first) { message += "\n\nDid you mean this?\n\t\(suggestion)" }
            fail(message + "\nSee 'berth --help'", code: 1)
        }
        if let help = Self.helpRequest(rest) {
            print(Berth.helpMessage(for: help), terminator: "")
            exit(0)
        }
        var command: ParsableCommand
        do {
            command = try Berth.parseAsRoot(rest)
        } catch {
            if Berth.exitCode(for: error) == .success { Self.cleanExit(error, rest) }
            let name = rest.first.map { " " + $0 } ?? ""
            fail("berth: \(Berth.message(for: error))\nSee 'berth\(name) --help'.", code: 125)
        }
        do {
            try command.run()
            exit(0)
        } catch let error as CLIError {
            switch error {
            case let .exitCode(code): exit(code)
            case let .usage(text): fail("\(text)\nSee 'berth \(rest.first ?? "") --help'.", code: 125)
            case let .message(text, code): fail(text, code: code)
            }
        } catch let error as EngineClient.Failure {
            fail("\(error)", code: 1)
        } catch {
            // A subcommand that reads its own arguments may still meet `--help` or `--version`.
            if Berth.exitCode(for: error) == .success { Self.cleanExit(error, rest) }
            fail("\(error)", code: 1)
        }
    }

    /// Help or version asked for where ArgumentParser finds it (`berth run --name x --help`): it
    /// renders help requests as its error's description, so the help is rendered here.
    static func cleanExit(_ error: Error, _ rest: [String]) -> Never {
        if rest.contains("--help") || rest.contains("-h") {
            print(Berth.helpMessage(for: Self.command(at: rest)), terminator: "")
        } else {
            print(Berth.fullMessage(for: error))
        }
        exit(0)
    }

    /// The command whose help was asked for, as docker reads it: `berth` alone, `berth help
    /// [COMMAND…]`, or `--help`/`-h` among a command's own options (`berth image ls --help`; not
    /// `berth run IMAGE ls --help`, whose `--help` belongs to the container's command).
    static func helpRequest(_ arguments: [String]) -> ParsableCommand.Type? {
        if arguments.isEmpty { return Berth.self }
        if arguments.first == "help" { return command(at: Array(arguments.dropFirst())) }
        var command: ParsableCommand.Type = Berth.self
        for word in arguments {
            if word == "--help" || word == "-h" { return command }
            if word.hasPrefix("-") { continue }
            guard let sub = subcommand(of: command, named: word) else { return nil }
            command = sub
        }
        return nil
    }

    /// The command named by the leading words of `arguments` (options skipped).
    static func command(at arguments: [String]) -> ParsableCommand.Type {
        var command: ParsableCommand.Type = Berth.self
        for word in arguments where !word.hasPrefix("-") {
            guard let sub = subcommand(of: command, named: word) else { break }
            command = sub
        }
        return command
    }

    private static func subcommand(of command: ParsableCommand.Type, named word: String) -> ParsableCommand.Type? {
        command.configuration.subcommands.first { $0._commandName == word || $0.configuration.aliases.contains(word) }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }

    static var commandNames: [String] {
        Berth.configuration.subcommands.map { $0._commandName }
    }

    /// The command nearest to a mistyped one (edit distance ≤ 2), for "Did you mean".
    static func closest(_ word: String) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var current = [i + 1]
                for (j, y) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let scored = commandNames.map { ($0, distance(Array(word), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}
