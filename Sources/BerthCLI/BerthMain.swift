import ArgumentParser
import BerthAPI
import Foundation

/// The context every command uses; set once by `BerthMain` before the command runs.
nonisolated(unsafe) var session = CLIContext(host: CLIContext.defaultHost, configDirectory: "")

/// `berth`: docker's command line over the Engine API.
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A container engine with Docker's command line.",
        version: "berth version \(Router.engineVersion)",
        subcommands: [
            Run.self, Create.self, Start.self, Stop.self, Kill.self, Restart.self, Remove.self, Pause.self, Unpause.self,
            Rename.self, Wait.self, PS.self, Logs.self, Exec.self, Inspect.self, Top.self,
            Attach.self, Stats.self, Update.self, Copy.self, Export.self, Diff.self, Commit.self, Events.self,
            Images.self, RemoveImage.self, Tag.self, Pull.self, Push.self, Save.self, Load.self, Import.self, History.self,
            Login.self, Logout.self, Version.self, Info.self, ContextGroup.self, ImageGroup.self, ContainerGroup.self, SystemGroup.self,
        ])
}

/// Entry point: global options, the command, and docker's exit codes and messages.
public enum BerthMain {
    public static func main() -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let rest: [String]
        do {
            (session, rest) = try CLIContext.parse(arguments, environment: ProcessInfo.processInfo.environment)
        } catch {
            fail("\(error)\nSee 'berth --help'.", code: 125)
        }
        if let first = rest.first, !first.hasPrefix("-"), !Self.commandNames.contains(first), first != "help" {
            var message = "berth: '\(first)' is not a berth command."
            if let suggestion = Self.closest(first) { message += "\n\nDid you mean this?\n\t\(suggestion)" }
            fail(message + "\nSee 'berth --help'", code: 1)
        }
        var command: ParsableCommand
        do {
            command = try Berth.parseAsRoot(rest)
        } catch {
            let code = Berth.exitCode(for: error)
            if code == .success {
                print(Berth.fullMessage(for: error))
                exit(0)
            }
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
            fail("\(error)", code: 1)
        }
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
