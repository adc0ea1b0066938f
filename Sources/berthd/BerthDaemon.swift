import ArgumentParser
import BerthAPI
import BerthEngine
import BerthImages
import BerthRegistry
import Dispatch
import Foundation
import Logging
import Synchronization
import NIOSSL

/// berthd: the Berth daemon. Flags follow dockerd's names; they override daemon.json.
@main
struct BerthDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berthd",
        abstract: "Berth daemon: serves the Docker Engine API and runs containers.",
        version: Router.engineVersion)

    @Option(name: [.customShort("H"), .long], help: "Daemon socket(s) to listen on: unix:///path or tcp://host:port.")
    var host: [String] = []
    @Option(name: .customLong("config-file"), help: "Daemon configuration file.")
    var configFile = "/etc/berth/daemon.json"
    @Option(name: .customLong("data-root"), help: "Root of persistent state (images, containers).")
    var dataRoot: String?
    @Option(name: .customLong("exec-root"), help: "Root of runtime state (sockets, shims).")
    var execRoot: String?
    @Option(name: [.customShort("G"), .long], help: "Group that owns the Unix socket.")
    var group: String?
    @Option(name: [.customShort("p"), .long], help: "Path of the PID file.")
    var pidfile: String?
    @Option(name: .customLong("default-runtime"), help: "Runtime for containers that name none.")
    var defaultRuntime: String?
    @Option(name: .customLong("log-driver"), help: "Default log driver: json-file or none.")
    var logDriver: String?
    @Option(name: .customLong("log-opt"), help: "Default log driver option (key=value).")
    var logOpt: [String] = []
    @Option(name: .customLong("registry-mirror"), help: "Mirror for docker.io.")
    var registryMirror: [String] = []
    @Option(name: .customLong("insecure-registry"), help: "Registry spoken to over plain HTTP.")
    var insecureRegistry: [String] = []
    @Option(name: .customLong("default-network"), help: "Mode for containers that ask for the default network (bridge, none or host).")
    var defaultNetwork: String?
    @Option(name: [.customShort("b"), .long], help: "The default bridge network's Linux bridge (default berth0).")
    var bridge: String?
    @Option(help: "The default bridge's address and prefix, its containers' gateway (default: the first free subnet, 172.17.0.1/16 on most hosts).")
    var bip: String?
    @Option(name: .customLong("userns-remap"), help: "User/Group setting for user namespaces (default, USER[:GROUP] or UID[:GID]).")
    var usernsRemap: String?
    @Flag(name: [.customShort("D"), .long], help: "Debug output.")
    var debug = false
    @Option(name: [.customShort("l"), .customLong("log-level")], help: "Logging level: debug, info, warn, error or fatal.")
    var logLevel: String?
    @Flag(help: "Use TLS on TCP listeners; implied by --tlsverify.")
    var tls = false
    @Flag(help: "Use TLS and require client certificates signed by --tlscacert.")
    var tlsverify = false
    @Option(help: "Trust only client certificates signed by this CA (default: ~/.docker/ca.pem).")
    var tlscacert: String?
    @Option(help: "TLS certificate file (default: ~/.docker/cert.pem).")
    var tlscert: String?
    @Option(help: "TLS key file (default: ~/.docker/key.pem).")
    var tlskey: String?

    mutating func run() async throws {
        // A reader that went away (a client that hung up on `docker save`, a shim) is an EPIPE
        // for the writer to handle, never the end of the daemon.
        signal(SIGPIPE, SIG_IGN)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        var config = DaemonConfig(binaryDirectory: (executable as NSString).deletingLastPathComponent)
        var tlsContext: NIOSSLContext?
        do {
            if let data = FileManager.default.contents(atPath: configFile) {
                try config.apply(fileContents: data, path: configFile)
            }
            if !host.isEmpty { config.hosts = host }
            if let dataRoot { config.dataRoot = dataRoot }
            if let execRoot { config.execRoot = execRoot }
            if let group { config.group = group }
            if let defaultRuntime { config.defaultRuntime = defaultRuntime }
            if let logDriver { config.logDriver = logDriver }
            if let defaultNetwork { config.defaultNetwork = defaultNetwork }
            if let bridge { config.bridge = bridge }
            if let bip { config.bip = bip }
            if let usernsRemap { config.usernsRemap = usernsRemap.isEmpty ? nil : usernsRemap }
            for option in logOpt {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw EngineError(.badRequest, "invalid --log-opt \(option): use key=value") }
                config.logOpts[parts[0]] = parts[1]
            }
            config.registryMirrors += registryMirror
            config.insecureRegistries += insecureRegistry
            config.debug = config.debug || debug
            if let logLevel {
                guard EngineLog.level(logLevel) != nil else { throw ValidationError("invalid --log-level \"\(logLevel)\": use debug, info, warn, error or fatal") }
                config.logLevel = logLevel
            }
            let level = config.debug ? .debug : EngineLog.level(config.logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            config.tls = config.tls || tls
            config.tlsVerify = config.tlsVerify || tlsverify
            // As dockerd: certificates default to the files in DOCKER_CERT_PATH or ~/.docker.
            let certDirectory = ProcessInfo.processInfo.environment["DOCKER_CERT_PATH"]
                ?? NSHomeDirectory() + "/.docker"
            config.tlsCACert = tlscacert ?? config.tlsCACert ?? (config.tlsVerify ? certDirectory + "/ca.pem" : nil)
            config.tlsCert = tlscert ?? config.tlsCert ?? (config.tls || config.tlsVerify ? certDirectory + "/cert.pem" : nil)
            config.tlsKey = tlskey ?? config.tlsKey ?? (config.tls || config.tlsVerify ? certDirectory + "/key.pem" : nil)
            try config.validate()
            if let setting = config.usernsRemap {
                let remap = try UserNamespaceRemap.resolve(setting)
                try remap.prepare(root: config.dataRoot)
                config.remap = remap
                config.dataRoot = remap.dataRoot(under: config.dataRoot)
            }
            tlsContext = try TLSSettings.serverContext(config)
        } catch let error as EngineError {
            FileHandle.standardError.write(Data("berthd: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        if config.hosts.isEmpty { config.hosts = ["unix://\(config.execRoot)/berth.sock"] }
        for directory in [config.dataRoot, config.execRoot] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let lock: DaemonLock
        do { lock = try DaemonLock(directories: [config.dataRoot, config.execRoot]) } catch let error as DaemonLockError {
            FileHandle.standardError.write(Data("berthd: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        config.protectedRuntime = ProtectedRuntime.install(config.binaryDirectory + "/berth-runtime", in: config.execRoot + "/bin")
        let pidPath = pidfile ?? config.execRoot + "/berthd.pid"
        try "\(getpid())\n".write(toFile: pidPath, atomically: true, encoding: .utf8)

        let images = try ImageStore(root: config.dataRoot, ownerShift: config.remap?.shift)
        do { try images.snapshots.isolateContainerMounts() } catch {
            FileHandle.standardError.write(Data("berthd: WARNING: container roots share the host's mount propagation: \(error)\n".utf8))
        }
        let engine = try ContainerEngine(config: config, images: images, events: EventBus())
        await engine.reconcile(liveRestore: config.liveRestore)
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.insecureRegistries = config.insecureRegistries
        registryConfiguration.mirrors = config.registryMirrors
        registryConfiguration.maxConcurrentDownloads = config.maxConcurrentDownloads
        let registry = RegistryClient(configuration: registryConfiguration)
        let server = APIServer(router: Router(engine: engine, registry: registry))
        var groupID: gid_t?
        if let name = config.group {
            guard let entry = getgrnam(name) else {
                FileHandle.standardError.write(Data("berthd: group \(name) not found\n".utf8))
                throw ExitCode(1)
            }
            groupID = entry.pointee.gr_gid
        }
        for address in config.hosts {
            if address.hasPrefix("tcp://"), tlsContext == nil {
                FileHandle.standardError.write(Data("berthd: WARNING: the API on \(address) is not encrypted and anyone who can reach it controls this host: use --tlsverify\n".utf8))
            }
            _ = try await server.listen(address, socketGroup: groupID, tls: tlsContext)
            EngineLog.logger.info("API listening on \(address)")
        }
        let reclaimer = Task { await IdleMemoryReclaimer(activity: server.activity).run() }
        await waitForTermination()
        reclaimer.cancel()
        // With live restore (the default) containers keep running: their shims do not depend on berthd.
        if !config.liveRestore { await engine.stopAll() }
        await engine.settleRemovals()
        engine.syncRecords()
        for address in config.hosts where address.hasPrefix("unix://") { unlink(String(address.dropFirst(7))) }
        unlink(pidPath)
        try? await registry.shutdown()
        withExtendedLifetime(lock) {}
    }

    private func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = ResumeOnce(continuation)
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                // The handler holds its source: the sources live as long as the daemon waits.
                source.setEventHandler { [source] in
                    _ = source
                    once.resume()
                }
                source.resume()
            }
        }
    }
}

/// Resumes the shutdown wait on the first signal only.
final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = Mutex(continuation) }

    func resume() {
        let pending = continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }
        pending?.resume()
    }
}
