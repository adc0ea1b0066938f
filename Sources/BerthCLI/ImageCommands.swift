import ArgumentParser
import BerthClient
import BerthAPITypes
import BerthOCI
import Foundation

struct RemoveImage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove one or more images")
    @Flag(name: [.short, .long], help: "Force removal of the image") var force = false
    @Flag(name: .customLong("no-prune"), help: "Do not delete untagged parents") var noPrune = false
    @Argument var images: [String]

    func run() throws {
        try forEachName(images) { image in
            let answer = try session.client.request("DELETE", "/images/\(image)", query: [("force", force ? "1" : "0"), ("noprune", noPrune ? "1" : "0")]).json
            return (answer.array ?? []).compactMap { entry in
                entry["Untagged"]?.string.map { "Untagged: \($0)" } ?? entry["Deleted"]?.string.map { "Deleted: \($0)" }
            }.joined(separator: "\n")
        }
    }
}

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    @Argument var source: String
    @Argument var target: String

    func run() throws {
        guard try Pull.parse(target).digest == nil else { throw CLIError.usage("refusing to create a tag with a digest reference") }
        _ = try session.client.request("POST", "/images/\(source)/tag", query: try Pull.repositoryQuery(target))
    }
}

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download an image from a registry")
    @Flag(name: [.short, .long], help: "Suppress verbose output") var quiet = false
    @Argument var image: String

    func run() throws { try Self.pull(image, quiet: quiet, to: 1) }

    /// A reference as docker reads it (`busybox` is `docker.io/library/busybox:latest`).
    static func parse(_ text: String) throws -> ImageReference {
        do { return try ImageReference(parsing: text) } catch {
            throw CLIError.message("\(error)", code: 125)
        }
    }

    /// `repo` and `tag` query parameters for a `REPOSITORY[:TAG]` argument (tag, commit, import).
    static func repositoryQuery(_ text: String) throws -> [(String, String)] {
        let reference = try parse(text)
        return [("repo", reference.familiarRepository), ("tag", reference.tag ?? "latest")]
    }

    /// Pulls with docker's progress: per-layer bars on a terminal, a line per state change otherwise.
    static func pull(_ text: String, quiet: Bool, to fd: Int32) throws {
        let reference = try parse(text)
        let query = [("fromImage", reference.familiarRepository), ("tag", reference.digest?.description ?? reference.tag ?? "latest")]
        let auth = try DockerConfigFile.load(directory: session.configDirectory).registryAuthHeader(for: reference.domain)
        try ProgressStream.run(quiet: quiet, to: fd) { onLine in
            try session.client.streamJSONLines("POST", "/images/create", query: query, headers: [auth], onLine: onLine)
        }
        print(reference.description)
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the Berth version information")
    @Option(name: [.short, .long], help: "Format output using a custom template") var format: String?

    func run() throws {
        var client: [String: JSONValue] = [
            "Version": .string(EngineAPIVersion.engine), "ApiVersion": .string(session.client.apiVersion),
            "Os": .string("linux"), "Arch": .string(Self.architecture), "Platform": .object(["Name": .string("Berth")]),
        ]
        var server: JSONValue = .null
        var serverError: Error?
        do { server = try session.client.request("GET", "/version").json } catch { serverError = error }
        client["Context"] = .string("default")
        let data = JSONValue.object(["Client": .object(client), "Server": server])
        if let format {
            print(try GoTemplate(format).render(data))
        } else {
            print("""
                Client: Berth
                 Version:           \(EngineAPIVersion.engine)
                 API version:       \(session.client.apiVersion)
                 OS/Arch:           linux/\(Self.architecture)
                 Context:           default
                """)
            if server != .null {
                print("""

                    Server: \(server["Platform"]?["Name"]?.string ?? "Berth Engine")
                     Engine:
                      Version:          \(server["Version"]?.string ?? "")
                      API version:      \(server["ApiVersion"]?.string ?? "") (minimum version \(server["MinAPIVersion"]?.string ?? ""))
                      OS/Arch:          \(server["Os"]?.string ?? "")/\(server["Arch"]?.string ?? "")
                      Kernel Version:   \(server["KernelVersion"]?.string ?? "")
                    """)
            }
        }
        if let serverError { throw serverError }
    }

    static var architecture: String {
        #if arch(x86_64)
        return "amd64"
        #else
        return "arm64"
        #endif
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Display system-wide information")
    @Option(name: [.short, .long], help: "Format output using a custom template") var format: String?

    func run() throws {
        let info = try session.client.request("GET", "/info").json
        if let format {
            print(try GoTemplate(format).render(info))
            return
        }
        func value(_ key: String) -> String { info[key].map { Evaluator.format(.value($0)) } ?? "" }
        print("""
            Server:
             Containers: \(value("Containers"))
              Running: \(value("ContainersRunning"))
              Paused: \(value("ContainersPaused"))
              Stopped: \(value("ContainersStopped"))
             Images: \(value("Images"))
             Server Version: \(value("ServerVersion"))
             Storage Driver: \(value("Driver"))
             Logging Driver: \(value("LoggingDriver"))
             Cgroup Driver: \(value("CgroupDriver"))
             Cgroup Version: \(value("CgroupVersion"))
             Default Runtime: \(value("DefaultRuntime"))
             Kernel Version: \(value("KernelVersion"))
             Operating System: \(value("OperatingSystem"))
             OSType: \(value("OSType"))
             Architecture: \(value("Architecture"))
             CPUs: \(value("NCPU"))
             Total Memory: \(Human.size(info["MemTotal"]?.int ?? 0))
             Name: \(value("Name"))
             Docker Root Dir: \(value("DockerRootDir"))
            """)
    }
}
