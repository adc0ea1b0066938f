import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation

/// `berth context`: named daemon endpoints, shared with the docker CLI's context store.
struct ContextGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "context", abstract: "Manage contexts",
        subcommands: [ContextCreate.self, ContextList.self, ContextUse.self, ContextRemove.self, ContextInspect.self, ContextShow.self])
}

extension CLIContext {
    var contexts: ContextStore { ContextStore(configDirectory: configDirectory) }
}

struct ContextCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a context")
    @Option(help: "Description of the context") var description: String?
    @Option(help: "set the docker endpoint (host=…,ca=…,cert=…,key=…,skip-tls-verify=…)") var docker: String?
    @Option(help: "create context from a named context") var from: String?
    @Argument var name: String

    func run() throws {
        try ContextStore.validate(name)
        let store = session.contexts
        guard store.context(name) == nil else { throw CLIError.message("context \"\(name)\" already exists", code: 1) }
        var context = ContextStore.Context(name: name, description: description ?? "", host: CLIContext.defaultHost, skipTLSVerify: false)
        var tlsFiles: [String: String] = [:]
        if let from {
            // A copy of another context (or of the current default endpoint).
            if from != ContextStore.defaultName {
                guard let source = store.context(from) else { throw CLIError.message("context \"\(from)\" does not exist", code: 1) }
                context.host = source.host
                context.skipTLSVerify = source.skipTLSVerify
                for file in ["ca.pem", "cert.pem", "key.pem"] where FileManager.default.fileExists(atPath: store.tlsDirectory(from) + "/" + file) {
                    tlsFiles[file] = store.tlsDirectory(from) + "/" + file
                }
            } else {
                context.host = session.host
            }
        } else if docker == nil {
            context.host = session.host
        }
        if let docker {
            for field in docker.split(separator: ",") {
                let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw CLIError.message("invalid docker endpoint option \"\(field)\": expected key=value", code: 1) }
                switch parts[0] {
                case "host": context.host = parts[1]
                case "ca": tlsFiles["ca.pem"] = parts[1]
                case "cert": tlsFiles["cert.pem"] = parts[1]
                case "key": tlsFiles["key.pem"] = parts[1]
                case "skip-tls-verify":
                    guard let skip = Bool(parts[1]) else { throw CLIError.message("invalid value for skip-tls-verify: \(parts[1])", code: 1) }
                    context.skipTLSVerify = skip
                case "from": break
                default: throw CLIError.message("unrecognized config key \"\(parts[0])\"", code: 1)
                }
            }
        }
        if (tlsFiles["cert.pem"] == nil) != (tlsFiles["key.pem"] == nil) {
            throw CLIError.message("cert and key must be given together", code: 1)
        }
        try store.save(context, tlsFiles: tlsFiles)
        print(name)
        FileHandle.standardError.write(Data("Successfully created context \"\(name)\"\n".utf8))
    }
}

struct ContextList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List contexts", aliases: ["list"])
    @Option(help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .long], help: "Only show context names") var quiet = false

    static let headers = ["Name": "NAME", "Description": "DESCRIPTION", "DockerEndpoint": "DOCKER ENDPOINT", "Error": "ERROR"]

    func run() throws {
        let current = session.contextName
        var rows: [JSONValue] = [Self.row(name: ContextStore.defaultName, description: "Current DOCKER_HOST based configuration",
                                          endpoint: current == ContextStore.defaultName ? session.host : CLIContext.defaultHost, current: current)]
        for context in session.contexts.list() {
            rows.append(Self.row(name: context.name, description: context.description, endpoint: context.host, current: current))
        }
        if quiet {
            for row in rows { print(row["Name"]?.string ?? "") }
            return
        }
        let output = try OutputFormat(format ?? "table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}",
                                      headers: Self.headers)
        print(try output.render(rows), terminator: "")
    }

    static func row(name: String, description: String, endpoint: String, current: String) -> JSONValue {
        .object(["Name": .string(name), "Description": .string(description), "DockerEndpoint": .string(endpoint),
                 "Current": .bool(name == current), "Error": .string("")])
    }
}

struct ContextUse: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "use", abstract: "Set the current docker context")
    @Argument var name: String

    func run() throws {
        if name != ContextStore.defaultName, session.contexts.context(name) == nil {
            throw CLIError.message("context \"\(name)\" does not exist", code: 1)
        }
        var config = try DockerConfigFile.load(directory: session.configDirectory)
        config.currentContext = name == ContextStore.defaultName ? nil : name
        try config.save()
        print(name)
        FileHandle.standardError.write(Data("Current context is now \"\(name)\"\n".utf8))
        if ProcessInfo.processInfo.environment["DOCKER_HOST"].map({ !$0.isEmpty }) ?? false {
            FileHandle.standardError.write(Data("Warning: DOCKER_HOST environment variable overrides the active context. To use \"\(name)\", either set the global --context flag, or unset DOCKER_HOST environment variable.\n".utf8))
        }
    }
}

struct ContextRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more contexts", aliases: ["remove"])
    @Flag(name: [.short, .long], help: "Force the removal of a context in use") var force = false
    @Argument var names: [String]

    func run() throws {
        var config = try DockerConfigFile.load(directory: session.configDirectory)
        try forEachName(names) { name in
            guard name != ContextStore.defaultName else { throw EngineClient.Failure.protocolError("default: context \"default\" cannot be removed") }
            guard session.contexts.context(name) != nil else { throw EngineClient.Failure.protocolError("context \"\(name)\" does not exist") }
            if config.currentContext == name {
                guard force else { throw EngineClient.Failure.protocolError("context \"\(name)\" is in use, set -f flag to force remove") }
                config.currentContext = nil
                try config.save()
            }
            session.contexts.remove(name)
            return name
        }
    }
}

struct ContextInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more contexts")
    @Option(name: [.short, .long], help: "Format output using a custom template") var format: String?
    @Argument var names: [String] = []

    func run() throws {
        let store = session.contexts
        let objects: [JSONValue] = try (names.isEmpty ? [session.contextName] : names).map { name in
            let context: ContextStore.Context
            if name == ContextStore.defaultName {
                context = .init(name: name, description: "Current DOCKER_HOST based configuration", host: session.host, skipTLSVerify: false)
            } else {
                guard let found = store.context(name) else { throw CLIError.message("context \"\(name)\" does not exist", code: 1) }
                context = found
            }
            let tlsFiles = ["ca.pem", "cert.pem", "key.pem"].filter { FileManager.default.fileExists(atPath: store.tlsDirectory(name) + "/" + $0) }
            return .object([
                "Name": .string(context.name),
                "Metadata": .object(context.description.isEmpty ? [:] : ["Description": .string(context.description)]),
                "Endpoints": .object(["docker": .object(["Host": .string(context.host), "SkipTLSVerify": .bool(context.skipTLSVerify)])]),
                "TLSMaterial": .object(tlsFiles.isEmpty ? [:] : ["docker": .array(tlsFiles.map(JSONValue.string))]),
                "Storage": .object(name == ContextStore.defaultName ? ["MetadataPath": .string("<IN MEMORY>"), "TLSPath": .string("<IN MEMORY>")]
                    : ["MetadataPath": .string(store.metaDirectory(name)), "TLSPath": .string((store.tlsDirectory(name) as NSString).deletingLastPathComponent)]),
            ])
        }
        if let format {
            let template: GoTemplate
            do { template = try GoTemplate(format) } catch { throw CLIError.message("\(error)", code: 1) }
            for object in objects { print(try template.render(object)) }
        } else {
            print(PrettyJSON.render(.array(objects)))
        }
    }
}

struct ContextShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the name of the current context")
    func run() throws { print(session.contextName) }
}
