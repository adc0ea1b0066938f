import BerthAPI
import Foundation

/// Where the CLI talks to, from (in order) `-H`, `DOCKER_HOST`, or the default socket; and
/// the global options that come before the command, as docker takes them.
public struct CLIContext: Sendable {
    public static let defaultHost = "unix:///run/berth/berth.sock"

    public var host: String
    public var debug = false

    public var client: EngineClient { EngineClient(host: host) }

    /// Splits docker's global options off the front of `arguments`; the rest is the command.
    public static func parse(_ arguments: [String], environment: [String: String]) throws -> (CLIContext, [String]) {
        var host: String?
        var debug = false
        var index = 0
        func value(_ flag: String) throws -> String {
            index += 1
            guard index < arguments.count else { throw CLIError.usage("flag needs an argument: \(flag)") }
            return arguments[index]
        }
        loop: while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-H", "--host": host = try value(argument)
            case _ where argument.hasPrefix("--host="): host = String(argument.dropFirst(7))
            case _ where argument.hasPrefix("-H") && argument.count > 2: host = String(argument.dropFirst(2))
            case "-D", "--debug": debug = true
            case "-l", "--log-level", "--config": _ = try value(argument)
            case "--context", "-c":
                throw CLIError.usage("contexts are not supported by berth yet: use -H or DOCKER_HOST")
            case "--tls", "--tlsverify":
                throw CLIError.usage("TLS connections are not supported by berth yet: use a unix:// or plain tcp:// host")
            default: break loop
            }
            index += 1
        }
        if host == nil, let fromEnvironment = environment["DOCKER_HOST"], !fromEnvironment.isEmpty { host = fromEnvironment }
        var resolved = host ?? defaultHost
        if resolved.hasPrefix("/") { resolved = "unix://" + resolved }
        return (CLIContext(host: resolved, debug: debug), Array(arguments[index...]))
    }
}

/// Errors the CLI reports itself, with docker's exit codes.
public enum CLIError: Error, CustomStringConvertible {
    /// Bad command line: "See 'berth COMMAND --help'." and exit 125 as docker.
    case usage(String)
    /// A container's own status, passed through as the CLI's exit code.
    case exitCode(Int32)
    case message(String, code: Int32)

    public var description: String {
        switch self {
        case let .usage(text): return text
        case let .exitCode(code): return "exit status \(code)"
        case let .message(text, _): return text
        }
    }
}
