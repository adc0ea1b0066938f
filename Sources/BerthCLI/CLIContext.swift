import BerthClient
import Foundation

/// Where the CLI talks to and how, resolved as the docker CLI resolves it: `-H` or `--context`
/// (not both), then `DOCKER_HOST`, `DOCKER_CONTEXT`, the current context in `config.json`, and
/// the default socket; TLS from `--tls`/`--tlsverify`/`--tlscacert`/`--tlscert`/`--tlskey`,
/// `DOCKER_TLS_VERIFY`, `DOCKER_TLS` and `DOCKER_CERT_PATH` (default: the config directory), or
/// from the context's stored certificates.
public struct CLIContext: Sendable {
    public static let defaultHost = "unix:///run/berth/berth.sock"

    public var host: String
    public var tls: ClientTLS?
    /// The context in use ("default" when the host comes from flags, environment or default).
    public var contextName = ContextStore.defaultName
    /// `DOCKER_CONFIG` or `--config`: config.json, contexts, default certificates.
    public var configDirectory: String
    public var debug = false

    public var client: EngineClient { EngineClient(host: host, tls: tls) }

    /// The global options docker takes before the command.
    struct GlobalOptions {
        var host: String?
        var context: String?
        var config: String?
        var tls = false
        var tlsVerify: Bool?
        var caCert: String?
        var cert: String?
        var key: String?
        var debug = false
    }

    /// Splits docker's global options off the front of `arguments`; the rest is the command.
    public static func parse(_ arguments: [String], environment: [String: String]) throws -> (CLIContext, [String]) {
        var options = GlobalOptions()
        var index = 0
        loop: while index < arguments.count {
            var argument = arguments[index]
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                inline = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
            } else if argument.hasPrefix("-H"), argument.count > 2 {
                inline = String(argument.dropFirst(2))
                argument = "-H"
            }
            func value() throws -> String {
                if let inline { return inline }
                index += 1
                guard index < arguments.count else { throw CLIError.usage("flag needs an argument: \(argument)") }
                return arguments[index]
            }
            func flag() throws -> Bool {
                guard let inline else { return true }
                guard let parsed = Bool(inline) else { throw CLIError.usage("invalid argument \"\(inline)\" for \"\(argument)\" flag") }
                return parsed
            }
            switch argument {
            case "-H", "--host": options.host = try value()
            case "-c", "--context": options.context = try value()
            case "--config": options.config = try value()
            case "--tls": options.tls = try flag()
            case "--tlsverify": options.tlsVerify = try flag()
            case "--tlscacert": options.caCert = try value()
            case "--tlscert": options.cert = try value()
            case "--tlskey": options.key = try value()
            case "-D", "--debug": options.debug = try flag()
            case "-l", "--log-level": _ = try value()
            default: break loop
            }
            index += 1
        }
        return (try resolve(options, environment: environment), Array(arguments[index...]))
    }

    static func resolve(_ options: GlobalOptions, environment: [String: String]) throws -> CLIContext {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let configDirectory = options.config ?? DockerConfigFile.directory(environment: environment)
        if options.host != nil && options.context != nil {
            throw CLIError.usage("conflicting options: either specify --host or --context, not both")
        }
        // The context named by flag or environment, or the current one, unless a host is given.
        var contextName = options.context
        if contextName == nil && options.host == nil && env("DOCKER_HOST") == nil {
            contextName = env("DOCKER_CONTEXT")
            if contextName == nil { contextName = try DockerConfigFile.load(directory: configDirectory).currentContext }
        }
        if let name = contextName, name != ContextStore.defaultName {
            let store = ContextStore(configDirectory: configDirectory)
            guard let context = store.context(name) else {
                throw CLIError.message("context \"\(name)\" does not exist", code: 1)
            }
            return CLIContext(host: context.host, tls: store.tls(for: context), contextName: name,
                              configDirectory: configDirectory, debug: options.debug)
        }
        var host = options.host ?? env("DOCKER_HOST") ?? defaultHost
        if host.hasPrefix("/") { host = "unix://" + host }
        let verify = options.tlsVerify ?? (env("DOCKER_TLS_VERIFY") != nil)
        var tls: ClientTLS?
        if options.tls || verify || env("DOCKER_TLS") != nil {
            let certPath = env("DOCKER_CERT_PATH") ?? configDirectory
            func file(_ flag: String?, _ name: String) -> String? {
                if let flag { return flag }
                let path = certPath + "/" + name
                return FileManager.default.fileExists(atPath: path) ? path : nil
            }
            tls = ClientTLS(caFile: file(options.caCert, "ca.pem"), certFile: file(options.cert, "cert.pem"),
                            keyFile: file(options.key, "key.pem"), verify: verify)
            if verify && tls?.caFile == nil {
                throw CLIError.message("could not read CA certificate \"\(certPath)/ca.pem\": open \(certPath)/ca.pem: no such file or directory", code: 1)
            }
        }
        return CLIContext(host: host, tls: host.hasPrefix("unix://") ? nil : tls, configDirectory: configDirectory, debug: options.debug)
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
