import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation
import Synchronization
import Glibc

/// The container options `run` and `create` share, turned into the API's create body.
struct ContainerOptions: ParsableArguments {
    @Flag(name: [.short, .customLong("interactive")], help: "Keep STDIN open even if not attached") var interactive = false
    @Flag(name: [.short, .customLong("tty")], help: "Allocate a pseudo-TTY") var tty = false
    @Option(help: "Assign a name to the container") var name: String?
    @Option(name: [.short, .customLong("env")], help: "Set environment variables") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read in a file of environment variables") var envFile: [String] = []
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container") var workdir: String?
    @Option(name: [.short, .customLong("user")], help: "Username or UID (format: <name|uid>[:<group|gid>])") var user: String?
    @Option(help: "Overwrite the default ENTRYPOINT of the image") var entrypoint: String?
    @Option(name: [.short, .customLong("label")], help: "Set meta data on a container") var label: [String] = []
    @Option(help: "Runtime to use for this container") var runtime: String?
    @Option(name: [.customLong("network"), .customLong("net")], help: "Connect a container to a network (NAME, or name=NAME,alias=A,ip=IP,ip6=IP,mac-address=MAC,gw-priority=N)") var network: [String] = []
    @Option(name: .customLong("network-alias"), help: "Add network-scoped alias for the container") var networkAlias: [String] = []
    @Option(help: "IPv4 address (e.g., 172.30.100.104)") var ip: String?
    @Option(help: "IPv6 address (e.g., 2001:db8::33)") var ip6: String?
    @Option(name: .customLong("mac-address"), help: "Container MAC address (e.g., 92:d0:c6:0a:29:33)") var macAddress: String?
    @Option(name: .customLong("link"), help: "Add link to another container (NAME[:ALIAS])") var link: [String] = []
    @Option(name: [.short, .customLong("publish")], help: "Publish a container's port(s) to the host") var publish: [String] = []
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish all exposed ports to random ports") var publishAll = false
    @Option(help: "Expose a port or a range of ports") var expose: [String] = []
    @Flag(help: "Run an init inside the container that forwards signals and reaps processes") var `init` = false
    @Option(name: .customLong("stop-signal"), help: "Signal to stop the container") var stopSignal: String?
    @Option(name: .customLong("stop-timeout"), help: "Timeout (in seconds) to stop a container") var stopTimeout: Int?
    @Option(name: .customLong("log-driver"), help: "Logging driver for the container") var logDriver: String?
    @Option(name: .customLong("log-opt"), help: "Log driver options") var logOpt: [String] = []
    @Option(name: [.customShort("h"), .customLong("hostname")], help: "Container host name") var hostname: String?
    @Option(name: [.short, .customLong("volume")], help: "Bind mount a volume") var volume: [String] = []
    @Option(help: "Mount a tmpfs directory") var tmpfs: [String] = []
    @Option(help: "Attach a filesystem mount to the container") var mount: [String] = []
    @Option(name: .customLong("volumes-from"), help: "Mount volumes from the specified container(s)") var volumesFrom: [String] = []
    @Option(help: "Restart policy to apply when a container exits") var restart: String?
    @Flag(help: "Give extended privileges to this container") var privileged = false
    @Option(name: .customLong("cap-add"), help: "Add Linux capabilities") var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), help: "Drop Linux capabilities") var capDrop: [String] = []
    @Option(name: .customLong("security-opt"), help: "Security Options") var securityOpt: [String] = []
    @Flag(name: .customLong("read-only"), help: "Mount the container's root filesystem as read only") var readOnly = false
    @Option(help: "Pull image before running (\"always\", \"missing\", \"never\")") var pull: String = "missing"
    @OptionGroup var resources: ResourceOptions
    @Argument(help: "Image") var image: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments") var command: [String] = []

    /// The `POST /containers/create` body; `attach` says which streams `run` attaches.
    func body(detached: Bool, autoRemove: Bool) throws -> JSONValue {
        var environment: [String] = []
        for file in envFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError.message("open \(file): no such file or directory", code: 125) }
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
                environment.append(Self.environmentEntry(String(line)))
            }
        }
        environment += env.map(Self.environmentEntry)
        var labels: [String: JSONValue] = [:]
        for entry in label {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            labels[parts[0]] = .string(parts.count > 1 ? parts[1] : "")
        }
        var config: [String: JSONValue] = [
            "Image": .string(image), "Env": .array(environment.map(JSONValue.string)), "Labels": .object(labels),
            "Tty": .bool(tty), "OpenStdin": .bool(interactive), "StdinOnce": .bool(interactive && !detached),
            "AttachStdin": .bool(interactive && !detached), "AttachStdout": .bool(!detached), "AttachStderr": .bool(!detached),
        ]
        if !command.isEmpty { config["Cmd"] = .array(command.map(JSONValue.string)) }
        if let entrypoint { config["Entrypoint"] = .array([.string(entrypoint)]) }
        if let workdir { config["WorkingDir"] = .string(workdir) }
        if let user { config["User"] = .string(user) }
        if let stopSignal { config["StopSignal"] = .string(stopSignal) }
        if let stopTimeout { config["StopTimeout"] = .int(Int64(stopTimeout)) }
        if let hostname { config["Hostname"] = .string(hostname) }
        var exposed: [String: JSONValue] = [:]
        var bindings: [String: [JSONValue]] = [:]
        for spec in expose { for key in try PortSpec.exposed(spec) { exposed[key] = .object([:]) } }
        for spec in publish {
            for (key, hostIP, hostPort) in try PortSpec.parse(spec) {
                exposed[key] = .object([:])
                bindings[key, default: []].append(.object(["HostIp": .string(hostIP), "HostPort": .string(hostPort)]))
            }
        }
        if !exposed.isEmpty { config["ExposedPorts"] = .object(exposed) }

        var host: [String: JSONValue] = [
            "AutoRemove": .bool(autoRemove), "NetworkMode": .string(try networks().first?.name ?? "default"), "Privileged": .bool(privileged),
            "ReadonlyRootfs": .bool(readOnly), "Binds": .array(volume.map(JSONValue.string)),
            "CapAdd": .array(capAdd.map(JSONValue.string)), "CapDrop": .array(capDrop.map(JSONValue.string)),
            "SecurityOpt": .array(try securityOpt.map(Self.securityOption)),
        ]
        if self.`init` { host["Init"] = .bool(true) }
        if !bindings.isEmpty { host["PortBindings"] = .object(bindings.mapValues(JSONValue.array)) }
        if publishAll { host["PublishAllPorts"] = .bool(true) }
        if let runtime { host["Runtime"] = .string(runtime) }
        if let logDriver {
            var options: [String: JSONValue] = [:]
            for option in logOpt {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                options[parts[0]] = .string(parts.count > 1 ? parts[1] : "")
            }
            host["LogConfig"] = .object(["Type": .string(logDriver), "Config": .object(options)])
        }
        if !mount.isEmpty { host["Mounts"] = .array(try mount.map(MountOption.parse)) }
        if !volumesFrom.isEmpty { host["VolumesFrom"] = .array(volumesFrom.map(JSONValue.string)) }
        if !tmpfs.isEmpty {
            var mounts: [String: JSONValue] = [:]
            for entry in tmpfs {
                let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
                mounts[parts[0]] = .string(parts.count > 1 ? parts[1] : "")
            }
            host["Tmpfs"] = .object(mounts)
        }
        try resources.apply(config: &config, host: &host)
        if let restart {
            let parts = restart.split(separator: ":", maxSplits: 1).map(String.init)
            host["RestartPolicy"] = .object(["Name": .string(parts[0]), "MaximumRetryCount": .int(Int64(parts.count > 1 ? Int(parts[1]) ?? 0 : 0))])
        }
        if !link.isEmpty { host["Links"] = .array(link.map(JSONValue.string)) }
        if tty, let size = RawTerminal.size() { host["ConsoleSize"] = .array([.int(Int64(size.rows)), .int(Int64(size.columns))]) }
        config["HostConfig"] = .object(host)
        var endpoints = try networks()
        if endpoints.isEmpty, !networkAlias.isEmpty || ip != nil || ip6 != nil || macAddress != nil { endpoints = [NetworkOption(name: "default")] }
        if !endpoints.isEmpty {
            // --network-alias, --ip, --ip6 and --mac-address are the first network's.
            endpoints[0].aliases += networkAlias
            endpoints[0].ip = endpoints[0].ip ?? ip
            endpoints[0].ip6 = endpoints[0].ip6 ?? ip6
            endpoints[0].macAddress = endpoints[0].macAddress ?? macAddress
            config["NetworkingConfig"] = .object(["EndpointsConfig": .object(Dictionary(endpoints.map { ($0.name, $0.settings) }) { first, _ in first })])
        }
        return .object(config)
    }

    /// One `--network`: a name, or docker's long form `name=NAME,alias=A,ip=IP,…`.
    struct NetworkOption {
        var name: String
        var aliases: [String] = []
        var ip: String?
        var ip6: String?
        var macAddress: String?
        var gwPriority: Int64?
        var links: [String] = []

        var settings: JSONValue {
            var endpoint: [String: JSONValue] = [:]
            if !aliases.isEmpty { endpoint["Aliases"] = .array(aliases.map(JSONValue.string)) }
            var ipam: [String: JSONValue] = [:]
            if let ip { ipam["IPv4Address"] = .string(ip) }
            if let ip6 { ipam["IPv6Address"] = .string(ip6) }
            if !ipam.isEmpty { endpoint["IPAMConfig"] = .object(ipam) }
            if let macAddress { endpoint["MacAddress"] = .string(macAddress) }
            if let gwPriority { endpoint["GwPriority"] = .int(gwPriority) }
            if !links.isEmpty { endpoint["Links"] = .array(links.map(JSONValue.string)) }
            return .object(endpoint)
        }
    }

    func networks() throws -> [NetworkOption] {
        try network.map { text in
            guard text.contains("=") else { return NetworkOption(name: text) }
            var option = NetworkOption(name: "")
            for field in text.split(separator: ",") {
                let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("invalid network option \(field): use key=value") }
                switch parts[0] {
                case "name": option.name = parts[1]
                case "alias": option.aliases.append(parts[1])
                case "ip": option.ip = parts[1]
                case "ip6": option.ip6 = parts[1]
                case "mac-address": option.macAddress = parts[1]
                case "gw-priority":
                    guard let priority = Int64(parts[1]) else { throw ValidationError("invalid gw-priority \(parts[1]): an integer") }
                    option.gwPriority = priority
                default: throw ValidationError("network option \(parts[0]) is not supported by berth")
                }
            }
            guard !option.name.isEmpty else { throw ValidationError("network name must be given: --network name=NAME,…") }
            return option
        }
    }

    /// `-e NAME` takes NAME's value from this environment, as docker does.
    static func environmentEntry(_ entry: String) -> String {
        if entry.contains("=") { return entry }
        return ProcessInfo.processInfo.environment[entry].map { "\(entry)=\($0)" } ?? entry
    }

    /// `seccomp=FILE` is sent as the file's content, as the docker CLI sends it.
    static func securityOption(_ option: String) throws -> JSONValue {
        if option.hasPrefix("seccomp="), !option.hasSuffix("=unconfined") {
            let path = String(option.dropFirst(8))
            guard let content = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError.message("opening seccomp profile (\(path)) failed: no such file or directory", code: 125)
            }
            return .string("seccomp=" + content)
        }
        return .string(option)
    }

    /// Creates the container, pulling the image first when it is missing; returns the ID.
    func create(detached: Bool, autoRemove: Bool) throws -> String {
        let body = try body(detached: detached, autoRemove: autoRemove)
        let query = name.map { [("name", $0)] } ?? []
        if pull == "always" { try Pull.pull(image, quiet: false, to: 2) }
        do {
            return try session.client.request("POST", "/containers/create", query: query, body: body).json["Id"]?.string ?? ""
        } catch let EngineClient.Failure.api(status, message) where status == 404 && message.hasPrefix("No such image") && pull == "missing" {
            FileHandle.standardError.write(Data("Unable to find image '\((try? Pull.parse(image))?.familiar ?? image)' locally\n".utf8))
            try Pull.pull(image, quiet: false, to: 2)
            return try session.client.request("POST", "/containers/create", query: query, body: body).json["Id"]?.string ?? ""
        }
    }
}

/// A run/create/start error as docker reports it: 127 for a missing command, 126 for one that cannot run, else 125.
func containerFailure(_ error: Error) -> CLIError {
    let text = "\(error)"
    let code: Int32 = text.contains("executable file not found") || text.contains("no such file or directory") ? 127
        : text.contains("permission denied") ? 126 : 125
    return .message("berth: \(text)", code: code)
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a new container")
    @OptionGroup var options: ContainerOptions

    func run() throws {
        do { print(try options.create(detached: true, autoRemove: false)) } catch let error as EngineClient.Failure {
            if case .unreachable = error { throw error }
            throw containerFailure(error)
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create and run a new container from an image")
    @Flag(name: [.short, .long], help: "Run container in background and print container ID") var detach = false
    @Flag(help: "Automatically remove the container and its associated anonymous volumes when it exits") var rm = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @OptionGroup var options: ContainerOptions

    func run() throws {
        let id: String
        do { id = try options.create(detached: detach, autoRemove: rm) } catch let error as EngineClient.Failure {
            if case .unreachable = error { throw error }
            throw containerFailure(error)
        }
        if detach {
            do { _ = try session.client.request("POST", "/containers/\(id)/start") } catch { throw containerFailure(error) }
            print(id)
            return
        }
        let code = try AttachedRun(id: id, tty: options.tty, stdin: options.interactive, detachKeys: detachKeys,
                                   waitCondition: rm ? "removed" : "next-exit").run(start: true)
        if code != 0 { throw CLIError.exitCode(code) }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start one or more stopped containers")
    @Flag(name: [.short, .long], help: "Attach STDOUT/STDERR and forward signals") var attach = false
    @Flag(name: [.short, .long], help: "Attach container's STDIN") var interactive = false
    @Argument var containers: [String]

    func run() throws {
        guard attach || interactive else {
            try forEachContainer(containers) { _ = try session.client.request("POST", "/containers/\($0)/start") }
            return
        }
        guard containers.count == 1 else { throw CLIError.usage("you cannot start and attach multiple containers at once") }
        let info = try session.client.inspectContainer(containers[0])
        let code = try AttachedRun(id: info.id ?? containers[0], tty: info.config?.tty ?? false,
                                   stdin: interactive, detachKeys: nil, waitCondition: "next-exit").run(start: true)
        if code != 0 { throw CLIError.exitCode(code) }
    }
}

/// Attach, start, stream until the output ends, then the exit code: `run` without `-d`, `start -a`.
struct AttachedRun {
    let id: String
    let tty: Bool
    let stdin: Bool
    let detachKeys: String?
    let waitCondition: String

    func run(start: Bool) throws -> Int32 {
        var query = [("stream", "1"), ("stdout", "1"), ("stderr", "1"), ("stdin", stdin ? "1" : "0")]
        if let detachKeys { query.append(("detachKeys", detachKeys)) }
        let (fd, pending) = try session.client.hijack("POST", "/containers/\(id)/attach", query: query)
        defer { close(fd) }
        let exit = ExitCodeBox()
        let waiting = DispatchSemaphore(value: 0)
        let client = session.client, id = self.id, condition = waitCondition
        Thread.detachNewThread {
            let answer = try? client.request("POST", "/containers/\(id)/wait", query: [("condition", condition)]).json
            exit.code = Int32(answer?["StatusCode"]?.int ?? 125)
            waiting.signal()
        }
        let terminal = RawTerminal()
        if start {
            do { _ = try client.request("POST", "/containers/\(id)/start") } catch {
                throw containerFailure(error)
            }
        }
        if tty && RawTerminal.isTerminal {
            if stdin { terminal.enable() }
            let resize: @Sendable () -> Void = {
                guard let size = RawTerminal.size() else { return }
                _ = try? client.request("POST", "/containers/\(id)/resize", query: [("h", String(size.rows)), ("w", String(size.columns))])
            }
            resize()
            RawTerminal.onResize(resize)
        }
        let keys = tty && RawTerminal.isTerminal ? DetachKeys.parse(detachKeys ?? "ctrl-p,ctrl-q") ?? [] : []
        let detached = AttachedStreams.pump(fd: fd, pending: pending, tty: tty, stdin: stdin, detachKeys: keys)
        terminal.restore()
        // Detached with the detach keys: the container runs on and there is no exit code to wait for.
        // Otherwise the output ended because the container did, even if its record still says running.
        if detached { return 0 }
        waiting.wait()
        return exit.code
    }
}

/// The exit code a waiting thread reports to the attaching one.
final class ExitCodeBox: Sendable {
    private let value = Atomic<Int32>(0)

    var code: Int32 {
        get { value.load(ordering: .acquiring) }
        set { value.store(newValue, ordering: .releasing) }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Execute a command in a running container")
    @Flag(name: [.short, .long], help: "Detached mode: run command in the background") var detach = false
    @Flag(name: [.short, .long], help: "Keep STDIN open even if not attached") var interactive = false
    @Flag(name: [.short, .long], help: "Allocate a pseudo-TTY") var tty = false
    @Option(name: [.short, .long], help: "Username or UID") var user: String?
    @Option(name: [.short, .long], help: "Working directory inside the container") var workdir: String?
    @Option(name: [.short, .long], help: "Set environment variables") var env: [String] = []
    @Flag(help: "Give extended privileges to the command") var privileged = false
    @Argument var container: String
    @Argument(parsing: .captureForPassthrough) var command: [String] = []

    func run() throws {
        guard !command.isEmpty else { throw CLIError.usage("\"berth exec\" requires at least 2 arguments.") }
        var body: [String: JSONValue] = [
            "AttachStdin": .bool(interactive && !detach), "AttachStdout": .bool(!detach), "AttachStderr": .bool(!detach),
            "Tty": .bool(tty), "Cmd": .array(command.map(JSONValue.string)), "Env": .array(env.map(ContainerOptions.environmentEntry).map(JSONValue.string)),
            "Privileged": .bool(privileged),
        ]
        if let user { body["User"] = .string(user) }
        if let workdir { body["WorkingDir"] = .string(workdir) }
        if tty, let size = RawTerminal.size() { body["ConsoleSize"] = .array([.int(Int64(size.rows)), .int(Int64(size.columns))]) }
        let execID = try session.client.request("POST", "/containers/\(container)/exec", body: .object(body)).json["Id"]?.string ?? ""
        if detach {
            _ = try session.client.request("POST", "/exec/\(execID)/start", body: .object(["Detach": .bool(true), "Tty": .bool(tty)]))
            return
        }
        let (fd, pending) = try session.client.hijack("POST", "/exec/\(execID)/start", body: .object(["Detach": .bool(false), "Tty": .bool(tty)]))
        defer { close(fd) }
        let terminal = RawTerminal()
        if tty && RawTerminal.isTerminal {
            if interactive { terminal.enable() }
            let client = session.client
            let resize: @Sendable () -> Void = {
                guard let size = RawTerminal.size() else { return }
                _ = try? client.request("POST", "/exec/\(execID)/resize", query: [("h", String(size.rows)), ("w", String(size.columns))])
            }
            resize()
            RawTerminal.onResize(resize)
        }
        AttachedStreams.pump(fd: fd, pending: pending, tty: tty, stdin: interactive)
        terminal.restore()
        var code: Int64?
        for _ in 0..<100 {
            let inspect = try session.client.request("GET", "/exec/\(execID)/json").json
            if inspect["Running"]?.bool == false, let exit = inspect["ExitCode"]?.int { code = exit; break }
            usleep(20_000)
        }
        if let code, code != 0 { throw CLIError.exitCode(Int32(code)) }
    }
}
