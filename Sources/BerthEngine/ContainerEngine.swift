@_exported import BerthAPITypes
import BerthImages
import BerthNetwork
import BerthVolumes
import BerthOCI
import BerthSystem
import Foundation

/// The daemon's container core: the containers' state machine, with their waiters and attach
/// hand-offs. One actor, so every state change is serialized; records live in a
/// `ContainerStore`, processes are started and ended by a `ShimSupervisor`.
public actor ContainerEngine {
    public nonisolated let config: DaemonConfig
    public nonisolated let images: ImageStore
    public nonisolated let events: EventBus
    /// Loaded once: the daemon's `seccomp-profile`.
    nonisolated let defaultSeccomp: DockerSeccompProfile?
    /// Records, names and IDs, and their files.
    var containers: ContainerStore
    /// The shims and runtime commands that run the containers and their execs.
    nonisolated let shims: ShimSupervisor
    /// The networks: the default bridge, user-defined bridges, host and none.
    public nonisolated let networks: NetworkService
    /// Named and anonymous volumes (`DATA/volumes`, their records in berth.db).
    public nonisolated let volumes: VolumeStore
    var exitWaiters: [ProcessKey: [ExitWaiter]] = [:]
    var removalWaiters: [String: [CheckedContinuation<Int32, Never>]] = [:]
    var pendingAttaches: [String: [AsyncThrowingStream<AttachTicket, Error>.Continuation]] = [:]
    /// Containers being stopped or killed by a user: their exit is not restarted by the policy.
    var stopping: Set<String> = []
    /// The delay before each restarting container's next restart (dockerd's backoff: 100 ms,
    /// doubled at each restart up to a minute, back to 100 ms after a run of 10 s or more).
    var restartDelays: [String: Double] = [:]
    /// Containers whose exit is being recorded: their record says exited before their networks
    /// are released, and a removal or stop must wait for the end of it (`exitOfRunning`).
    var exiting: Set<String> = []
    var execs: [String: ExecRecord] = [:]
    /// The health-check loop of each running container that has one.
    var healthMonitors: [String: Task<Void, Never>] = [:]
    /// Removed containers whose files are being deleted.
    var discarding: [String: Task<Void, Never>] = [:]
    /// Containers whose root a start or a copy holds, with the requests waiting for it: a second
    /// start or a removal must not run while a start has the root mounted and the bundle half
    /// written, nor while `cp` or `export` reads a stopped container's root.
    var occupied: [String: [CheckedContinuation<Void, Never>]] = [:]

    public init(config: DaemonConfig, images: ImageStore, events: EventBus) throws {
        self.config = config
        self.images = images
        self.events = events
        defaultSeccomp = try config.defaultSeccompProfile()
        shims = ShimSupervisor(config: config)
        volumes = try VolumeStore(root: config.dataRoot + "/volumes", database: config.dataRoot + "/berth.db",
                                  owner: config.remap.map { ($0.shift.uid, $0.shift.gid) } ?? (0, 0))
        try volumes.discardOrphans()
        let nameService = DaemonNameService(config)
        networks = try NetworkService(database: config.dataRoot + "/berth.db", legacyRoot: config.dataRoot + "/networks", config: config,
                                      host: Netlink(try RouteNetlinkSocket()), dns: nameService, events: events)
        // berth-dns killed under a running daemon: a new one serves the running containers.
        nameService.onLoss { [weak networks] in Task { await networks?.serveNamesAgain() } }
        try FileManager.default.createDirectory(atPath: config.execRoot + "/shims", withIntermediateDirectories: true)
        containers = try ContainerStore(root: config.dataRoot + "/containers")
        discardOrphans(known: Set(containers.ids).union(containers.unreadable))
    }

    /// Files of containers without a record: a removal (or a create) that a crash interrupted.
    private nonisolated func discardOrphans(known: Set<String>) {
        for id in SmallFile.list(images.snapshots.root + "/containers") where !known.contains(id) {
            images.snapshots.removeContainer(id)
        }
        for id in SmallFile.list(config.execRoot + "/bundles") where !known.contains(id) {
            SmallFile.removeTree(config.execRoot + "/bundles/" + id)
        }
        // A shim that still answers (an exec's, whose name is not a container's) keeps its directory.
        let prefixes = Set(known.map { String($0.prefix(20)) })
        for name in SmallFile.list(config.execRoot + "/shims") where !prefixes.contains(name) {
            let shim = shims.shim(name)
            if !shim.isAlive { SmallFile.removeTree(shim.directory) }
        }
    }

    func directory(_ id: String) -> String { containers.directory(id) }

    /// Ends the attachment `token` at the shim listening on `socketPath` without ending its
    /// input: the client typed its detach keys, and the process's stdin stays open.
    public nonisolated func detachAttachment(socketPath: String, token: String) async {
        let directory = String(socketPath.dropLast("/shim.sock".count))
        _ = try? await ShimClient(directory: directory).request(.detach(token: token))
    }
    /// A scratch path under the data root (same filesystem as the store, so renames are atomic).
    public nonisolated func scratchPath(_ purpose: String) -> String {
        "\(config.dataRoot)/tmp/\(purpose)-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// After a daemon restart: reattach to live shims; record exits that happened meanwhile.
    /// Without live restore, containers left running by the previous daemon are killed.
    public func reconcile(liveRestore: Bool = true) async {
        for (id, record) in containers where record.state.running {
            await networks.reclaim(id, name: record.name, pid: record.state.pid, Array(record.endpoints.values), upstreams: record.dnsUpstreams)
            if shims.shim(id).isAlive {
                monitor(id)
                startHealthMonitor(id)
                if !liveRestore {
                    stopping.insert(id)
                    await EngineLog.attempt("kill \(record.name) (no live restore)") { try await shims.signal(id, SIGKILL, all: true) }
                    _ = await exitOfRunning(id, timeout: 10)
                }
            } else {
                await containerExited(id)
            }
        }
        await EngineLog.attempt("restore the published ports of running containers") { try await networks.restore() }
        await reapOrphans()
        await thawInterruptedCommits()
        for (id, record) in containers where record.state.status == .removing {
            await EngineLog.attempt("finish the removal of \(id)") { try await remove(id, force: true) }
        }
        // Containers the previous daemon was about to restart.
        for (id, record) in containers where record.state.status == .restarting { scheduleRestart(id, after: 0) }
        await restartByPolicy()
    }

    /// As dockerd at its start: stopped containers whose policy says so are started again —
    /// `always` ones even if a user stopped them, `unless-stopped` ones unless a user did,
    /// `on-failure` ones that failed with retries left. Containers never started stay created.
    private func restartByPolicy() async {
        let due = containers.values.filter { record in
            guard record.state.status == .exited, !record.autoRemove, record.state.startedAt != ContainerRunState.zeroTime else { return false }
            switch record.hostConfig.restartPolicy?.name ?? "no" {
            case "always": return true
            case "unless-stopped": return record.manuallyStopped != true
            case "on-failure": return record.state.exitCode != 0 && underRetryLimit(record)
            default: return false
            }
        }.map(\.id)
        await withTaskGroup(of: Void.self) { group in
            for id in due {
                group.addTask { await EngineLog.attempt("start \(id) (restart policy, at daemon start)") { try await self.start(id) } }
            }
        }
    }

    /// Daemon shutdown without live restore: every running container is stopped as `docker stop` would.
    public func stopAll() async {
        let running = containers.values.filter(\.state.running).map(\.id)
        await withTaskGroup(of: Void.self) { group in
            for id in running {
                group.addTask { await EngineLog.attempt("stop \(id) at shutdown") { try await self.stop(id, timeout: nil, signal: nil, byUser: false) } }
            }
        }
    }

    // MARK: Lookup

    /// A container by full ID, name (with or without `/`), or unique ID prefix.
    func resolve(_ reference: String) throws -> String { try containers.resolve(reference) }

    public func record(_ reference: String) throws -> ContainerRecord {
        containers[try resolve(reference)]!
    }

    func save(_ record: ContainerRecord) throws { try containers.save(record) }
    func insert(_ record: ContainerRecord) throws { try containers.insert(record) }

    /// Returns once every record written so far is on disk (records are synced in the background).
    public nonisolated func syncRecords() {
        BackgroundSync.shared.drain()
    }

    func publish(_ action: String, _ record: ContainerRecord, extra: [String: String] = [:]) async {
        var attributes = record.labels
        attributes["image"] = record.imageName
        attributes["name"] = record.name
        for (key, value) in extra { attributes[key] = value }
        await events.publish("container", action, id: record.id, attributes: attributes)
    }

    /// Image IDs that containers use (images in use cannot be removed without force).
    public func imagesInUse() async -> Set<Digest> {
        Set(await imageUsers().keys)
    }

    /// Each image containers use, with one such container's ID (for "container X is using it").
    public func imageUsers() async -> [Digest: String] {
        // A removed container's overlay may still be mounted on the layers.
        await settleRemovals()
        var users: [Digest: String] = [:]
        for record in containers.values {
            if let image = try? Digest(parsing: record.image) { users[image] = record.id }
            // Images a container mounts (`--mount type=image`) are its too.
            for entry in (try? SpecBuilder.mountEntries(record.hostConfig)) ?? [] {
                if let reference = entry.imageReference, let image = try? images.resolve(reference) { users[image.id] = record.id }
            }
        }
        return users
    }

    // MARK: Create

    public func create(name requestedName: String?, body requestBody: JSONValue) async throws -> (id: String, warnings: [String]) {
        let body = GoJSONKeys.createRequest(requestBody)
        try ConfigValidator.validateCreate(body)
        let request = ContainerCreateRequest(json: body)
        if config.remap != nil { try ConfigValidator.validateRemapped(request.hostConfig ?? HostConfig()) }
        guard let imageName = request.config.image, !imageName.isEmpty else { throw EngineError(.badRequest, "config cannot be empty in order to create a container") }
        let image: ImageRecord
        do { image = try images.resolve(imageName) } catch let error as ImageStoreError {
            if case .imageNotFound = error { throw EngineError(.notFound, "No such image: \(imageName)") }
            throw EngineError(.badRequest, error.description)
        }
        let imageConfig = (try? images.config(image))?.config
        // Docker's defaults under what the client sent: inspect shows every field dockerd shows.
        var config = ContainerConfig(json: ContainerDefaults.config.merging(request.config.json))
        config.image = imageName
        var host = HostConfig(json: ContainerDefaults.hostConfig.merging(request.hostConfig?.json ?? .object([:])))
        let runtime = (request.hostConfig?.runtime).flatMap { $0.isEmpty ? nil : $0 } ?? self.config.defaultRuntime
        _ = try self.config.runtimePath(runtime)
        host.runtime = runtime
        // `NetworkDisabled` (the SDK's network_disabled) is a container without networking.
        host.networkMode = request.config.networkDisabled == true ? "none" : try await networkMode(host.networkMode ?? "default")
        var warnings = ConfigValidator.adaptToHost(&host)
        let publishes = !(try PublishedPorts.requests(config, host)).isEmpty
        // As dockerd: a container in the host's network has the host's name unless it asks another.
        if host.networkMode == "host", (config.hostname ?? "").isEmpty { config.hostname = ProcessInfo.processInfo.hostName }
        if let mode = host.networkMode, mode.hasPrefix("container:") {
            // As dockerd: the other container's hostname too.
            if let other = containers[String(mode.dropFirst(10))] { config.hostname = Self.hostname(other) }
            // dockerd's words: these belong to the other container's network.
            if !(request.config.hostname ?? "").isEmpty { throw EngineError(.badRequest, "conflicting options: hostname and the network mode") }
            if !(host.dns ?? []).isEmpty { throw EngineError(.badRequest, "conflicting options: dns and the network mode") }
            if !(host.extraHosts ?? []).isEmpty { throw EngineError(.badRequest, "conflicting options: custom host-to-IP mapping and the network mode") }
            if publishes || host.publishAllPorts == true {
                throw EngineError(.badRequest, "conflicting options: port publishing and the container type network mode")
            }
        }
        host.logConfig = try logConfig(host.logConfig)
        if publishes && ["host", "none"].contains(host.networkMode ?? "") {
            // dockerd's warning for host; with none there is nowhere to publish either.
            warnings.append(host.networkMode == "host" ? "Published ports are discarded when using host network mode"
                : "Published ports are discarded when using the \(host.networkMode ?? "none") network")
        }

        // The image's defaults under the request's values, as Docker merges them.
        var env = imageConfig?.env ?? []
        for entry in request.config.env ?? [] {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            env.removeAll { $0 == key || $0.hasPrefix(key + "=") }
            env.append(entry)
        }
        config.env = env
        let entrypoint: [String]
        var command: [String]
        if let requested = request.config.entrypoint {
            entrypoint = requested
            command = request.config.cmd ?? []
        } else {
            entrypoint = imageConfig?.entrypoint ?? []
            command = request.config.cmd ?? imageConfig?.cmd ?? []
            config.entrypoint = imageConfig?.entrypoint
        }
        if entrypoint == [""] { command = request.config.cmd ?? [] }
        config.cmd = command
        if (config.workingDir ?? "").isEmpty { config.workingDir = imageConfig?.workingDir ?? "" }
        if (config.user ?? "").isEmpty { config.user = imageConfig?.user ?? "" }
        config.labels = (imageConfig?.labels ?? [:]).merging(request.config.labels ?? [:]) { _, requested in requested }
        if config.stopSignal == nil { config.stopSignal = imageConfig?.stopSignal }
        if config.healthcheck == nil, let check = imageConfig?.healthcheck {
            config.healthcheck = BerthAPITypes.HealthConfig(json: try JSONValue(encoding: check))
        }
        let argv = entrypoint.filter { !$0.isEmpty } + command
        guard let path = argv.first else { throw EngineError(.badRequest, "no command specified") }
        if let signal = config.stopSignal, Signals.number(signal) == nil {
            throw EngineError(.badRequest, "invalid stop signal: \(signal)")
        }

        var endpointRequest = try await endpointsConfig(request.networkingConfig, networkMode: host.networkMode ?? "none", legacyMAC: config.macAddress)
        // From the name's choice to the record's insertion nothing suspends: two creates of one
        // name cannot both take it.
        let name = try chooseName(requestedName)
        try checkLinks(&host, &endpointRequest, linker: name)
        let id = ContainerRecord.newID()
        let directory = directory(id)
        var record = ContainerRecord(id: id, name: name, created: Date().rfc3339Nano, path: path, args: Array(argv.dropFirst()),
                                     image: image.id.description, config: config, hostConfig: host,
                                     runtime: runtime, directory: directory)
        record.networkingConfig = endpointRequest
        // On a user-defined network `--dns` are the embedded DNS's upstreams, asked over IPv4.
        if record.onUserNetwork, let other = (host.dns ?? []).first(where: { IPv4Address($0) == nil }) {
            throw EngineError(.badRequest, "--dns \(other) on a user-defined network: the embedded DNS forwards to IPv4 resolvers only in Berth (HostConfig.Dns)")
        }
        // What start would refuse (capabilities, a seccomp profile) is refused now, before
        // anything is written: the spec is built once without a root or a resolved user.
        _ = try SpecBuilder(record: record, rootfs: "/", defaultSeccomp: defaultSeccomp).build()
        // Last, after everything that could refuse the create: volumes are made on disk.
        for entry in try SpecBuilder.mountEntries(host) {
            guard let reference = entry.imageReference else { continue }
            // 400, not 404: the docker CLI would take a 404 for the container's image and pull it.
            guard (try? images.resolve(reference)) != nil else {
                throw EngineError(.badRequest, "invalid mount config for type \"image\": No such image: \(reference)")
            }
        }
        let (volumeMounts, createdVolumes, newVolumes) = try resolveVolumes(host, config, imageVolumes: imageConfig?.volumes.map { Array($0.keys) } ?? [])
        record.volumeMounts = volumeMounts.isEmpty ? nil : volumeMounts
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try writeEtcFiles(record)
            try insert(record)
        } catch {
            containers[id] = nil
            try? FileManager.default.removeItem(atPath: directory)
            for name in createdVolumes { try? volumes.remove(name) }
            throw EngineError(.internalError, "create container \(name): \(error)")
        }
        // As dockerd: a volume made for the container is announced before the container.
        for name in newVolumes { await events.publish("volume", "create", id: name, attributes: ["driver": "local"]) }
        await publish("create", record)
        return (id, warnings)
    }

    /// The container's log driver and options: as dockerd, no driver means the daemon's, and
    /// the daemon's options fill in what a container using the daemon's driver leaves unset.
    private func logConfig(_ requested: LogConfig?) throws -> LogConfig {
        let driver = requested?.type ?? ""
        if !driver.isEmpty, !["json-file", "none"].contains(driver) {
            // dockerd's words for a name no driver has (clients match on them); Docker's other
            // drivers exist but Berth does not have them.
            let dockerDrivers: Set = ["local", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs", "logentries"]
            throw EngineError(.badRequest, dockerDrivers.contains(driver)
                ? "logging driver \(driver) is not supported by Berth: use json-file or none"
                : "logger: no log driver named '\(driver)' is registered")
        }
        var log = LogConfig()
        log.type = driver.isEmpty ? config.logDriver : driver
        var options = requested?.config ?? [:]
        if log.type == config.logDriver { options.merge(config.logOpts) { mine, _ in mine } }
        if log.type == "json-file" { _ = try JSONFileLogConfig(options) }
        log.config = options
        return log
    }

    /// The networks the container is created on, by name, each with what was asked of it
    /// (aliases, a static IPv4 address, a MAC address, a gateway priority) as dockerd allows it:
    /// aliases and addresses on user-defined networks only, an address inside the network's
    /// subnet; no other network beside host, none or another container's.
    private func endpointsConfig(_ networking: NetworkingConfig?, networkMode: String, legacyMAC: String?) async throws -> NetworkingConfig? {
        // "default" is the network mode's network, whichever the daemon's default is.
        var requested = networking?.endpointsConfig ?? [:]
        if let settings = requested.removeValue(forKey: "default") { requested[networkMode] = settings }
        guard !["host", "none", "default"].contains(networkMode), !networkMode.hasPrefix("container:") else {
            let others = requested.keys.filter { $0 != networkMode }.sorted()
            if !others.isEmpty {
                throw EngineError(.badRequest, networkMode == "host" ? "container cannot be disconnected from host network or connected to host network"
                    : networkMode == "none" ? "container cannot be connected to multiple networks with one of the networks in private (none) mode"
                    : "conflicting options: container type network can't be used with other networks")
            }
            if !(legacyMAC ?? "").isEmpty { throw EngineError(.badRequest, "conflicting options: mac-address and the network mode") }
            // host and none take no alias and no address either, in dockerd's words.
            if let own = requested[networkMode], ["host", "none"].contains(networkMode) {
                _ = try checkEndpoint(own, on: try await networks.resolve(networkMode))
            }
            return nil
        }
        let primary = try await networks.resolve(networkMode)
        var kept: [String: EndpointSettings] = [:]
        for (reference, settings) in requested.sorted(by: { $0.key < $1.key }) {
            let network = try await networks.resolve(reference)
            if ["host", "null"].contains(network.driver) {
                throw EngineError(.badRequest, network.driver == "host" ? "container cannot be disconnected from host network or connected to host network"
                    : "container cannot be connected to multiple networks with one of the networks in private (none) mode")
            }
            kept[network.name] = try checkEndpoint(settings, on: network)
        }
        var settings = kept[primary.name] ?? EndpointSettings()
        if let mac = legacyMAC, !mac.isEmpty {
            // The container-wide MacAddress (API < 1.44, the Python SDK's mac_address) is its
            // network mode's endpoint's, as dockerd moves it.
            if let own = settings.macAddress, !own.isEmpty, own != mac {
                throw EngineError(.badRequest, "the container-wide MAC address must match the endpoint-specific MAC address for the main network or be left empty")
            }
            settings.macAddress = mac
            _ = try NetworkService.macAddress(mac)
        }
        settings.networkID = primary.id
        kept[primary.name] = settings
        var config = NetworkingConfig()
        config.endpointsConfig = kept
        return config
    }

    /// One endpoint's settings, checked against its network (at create and at `network connect`).
    func checkEndpoint(_ requested: EndpointSettings, on network: NetworkDefinition) throws -> EndpointSettings {
        var settings = EndpointSettings()
        let aliases = requested.aliases ?? [], address = requested.ipamConfig?.ipv4Address ?? "", address6 = requested.ipamConfig?.ipv6Address ?? ""
        if network.predefined && (!aliases.isEmpty || !address.isEmpty || !address6.isEmpty) {
            throw EngineError(.badRequest, !aliases.isEmpty ? "network-scoped alias is supported only for containers in user defined networks"
                : "user specified IP address is supported only when connecting to networks with user configured subnets")
        }
        if !address.isEmpty {
            guard let ip = IPv4Address(address), let subnet = network.subnet.flatMap(IPv4Subnet.init), subnet.contains(ip) else {
                throw EngineError(.badRequest, "invalid IPv4 address \(address): not in the subnet of network \(network.name)")
            }
            var ipam = settings.ipamConfig ?? EndpointIPAMConfig()
            ipam.ipv4Address = address
            settings.ipamConfig = ipam
        }
        if !address6.isEmpty {
            guard let ip = IPv6Address(address6), let subnet = network.subnet6.flatMap(IPv6Subnet.init), subnet.contains(ip) else {
                throw EngineError(.badRequest, network.subnet6 == nil ? "invalid IPv6 address \(address6): network \(network.name) has no IPv6 (--ipv6)"
                    : "invalid IPv6 address \(address6): not in the subnet of network \(network.name)")
            }
            var ipam = settings.ipamConfig ?? EndpointIPAMConfig()
            ipam.ipv6Address = address6
            settings.ipamConfig = ipam
        }
        if let mac = requested.macAddress, !mac.isEmpty {
            _ = try NetworkService.macAddress(mac)
            settings.macAddress = mac
        }
        settings.aliases = aliases.isEmpty ? nil : aliases
        if let links = requested.links, !links.isEmpty {
            guard !network.predefined else { throw EngineError(.badRequest, "links in an endpoint are for user-defined networks: use HostConfig.Links (--link) on \(network.name)") }
            for link in links { _ = try ContainerLink(link) }
            settings.links = links
        }
        settings.gwPriority = requested.gwPriority.flatMap { $0 == 0 ? nil : $0 }
        settings.networkID = network.id
        return settings
    }

    /// `host`, `none`, or the name of a bridge network (the default, or a user-defined one,
    /// named as the client named it).
    private func networkMode(_ requested: String) async throws -> String {
        switch requested {
        case "", "default": return config.defaultNetwork ?? "bridge"
        default:
            // Stored with the other container's ID, as dockerd stores it.
            if requested.hasPrefix("container:") { return "container:" + (try resolve(String(requested.dropFirst(10)))) }
            let network = try await networks.resolve(requested)
            return network.driver == "bridge" ? requested : network.name
        }
    }

    private func chooseName(_ requested: String?) throws -> String {
        if let requested, !requested.isEmpty {
            let name = requested.hasPrefix("/") ? String(requested.dropFirst()) : requested
            let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber) }
            guard name.count >= 2, allowed(name.first!), name.allSatisfy({ allowed($0) || "_.-".contains($0) }) else {
                throw EngineError(.badRequest, "Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            }
            if let otherID = containers.id(named: name), let other = containers[otherID] {
                throw EngineError(.conflict, "Conflict. The container name \"/\(name)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            return name
        }
        for attempt in 0..<10 {
            let name = NameGenerator.make(retry: attempt)
            if containers.id(named: name) == nil { return name }
        }
        throw EngineError(.internalError, "could not generate a unique container name")
    }

    /// The container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`, beside its record.
    private func writeEtcFiles(_ record: ContainerRecord) throws {
        let hostname = Self.hostname(record)
        let hostNetwork = record.networkMode == "host"
        try BackgroundSync.shared.writeAtomically(record.hostnamePath, Array((hostNetwork ? ProcessInfo.processInfo.hostName : hostname).utf8 + [10]))
        try BackgroundSync.shared.writeAtomically(record.hostsPath, Array(try Self.hosts(record, hostGateway: hostGateway).utf8))
        try BackgroundSync.shared.writeAtomically(record.resolvConfPath, Array(resolvConf(record).utf8))
    }

    /// `/etc/resolv.conf`: on a user-defined network the embedded DNS (which knows the names
    /// and forwards the rest to `--dns` or the daemon's resolvers), else `--dns` or the daemon's.
    private func resolvConf(_ record: ContainerRecord) -> String {
        let host = record.hostConfig
        let hostResolv = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        if record.onUserNetwork {
            return EtcFiles.resolvConf(hostResolv, dns: [NetworkService.dnsAddress.description], search: host.dnsSearch ?? [],
                                       options: ["ndots:0"] + (host.dnsOptions ?? []))
        }
        return EtcFiles.resolvConf(hostResolv, dns: (host.dns ?? []).isEmpty ? config.dns : host.dns ?? [], search: host.dnsSearch ?? [],
                                   options: host.dnsOptions ?? [])
    }

    /// What `--add-host NAME:host-gateway` maps to: the default bridge's address.
    var hostGateway: String? { networks.defaultSettings.gateway.description }

    static func hostname(_ record: ContainerRecord) -> String {
        record.config.hostname.flatMap { $0.isEmpty ? nil : $0 } ?? String(record.id.prefix(12))
    }

    /// `/etc/hosts`: the host's for `--network host`, else localhost, `--add-host` entries and,
    /// on a bridge, the container's own address and hostname.
    static func hosts(_ record: ContainerRecord, hostGateway: String?, links: [String] = []) throws -> String {
        let base = record.networkMode == "host" ? ((try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? "")
            : "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
        var hosts = try EtcFiles.hosts(base, extraHosts: record.hostConfig.extraHosts ?? [], hostGateway: hostGateway)
        hosts += links.map { $0 + "\n" }.joined()
        for network in record.networkNames {
            guard let endpoint = record.endpoints[network] else { continue }
            hosts += "\(endpoint.address)\t\(hostname(record))\n"
            if let address6 = endpoint.address6 { hosts += "\(address6)\t\(hostname(record))\n" }
        }
        return hosts
    }

    /// Rewrites `/etc/hosts` (its addresses) and `/etc/resolv.conf` (the embedded DNS once the
    /// container is on a user-defined network) in place as its networks change: the runtime has
    /// bind-mounted the files already, so a new file renamed over one would not be seen inside.
    func updateEtcFiles(_ record: ContainerRecord) throws {
        let hosts = try Self.hosts(record, hostGateway: hostGateway, links: linkHostLines(record))
        for (path, text) in [(record.hostsPath, hosts), (record.resolvConfPath, resolvConf(record))] {
            guard (try? String(contentsOfFile: path, encoding: .utf8)) != text else { continue }
            guard let file = FileHandle(forWritingAtPath: path) else { throw EngineError(.internalError, "open \(path) to rewrite it") }
            defer { try? file.close() }
            try file.truncate(atOffset: 0)
            try file.write(contentsOf: Data(text.utf8))
        }
    }

    // MARK: Remove, rename

    /// `volumes` (`rm -v`): its anonymous volumes go too, as they do with `--rm`.
    public func remove(_ reference: String, force: Bool, volumes: Bool = false) async throws {
        let id = try resolve(reference)
        await waitUntilFree(id)
        try await removeNow(id, reference: reference, force: force, volumes: volumes)
    }

    /// `remove` for a caller that is itself the start under way (a failed auto-remove start).
    func removeNow(_ id: String, reference: String, force: Bool, volumes: Bool = false) async throws {
        // An exit still being recorded finishes first (its networks and ports released).
        if exiting.contains(id) { _ = await exitOfRunning(id) }
        guard var record = containers[id] else { throw EngineError.noSuchContainer(reference) }
        if record.state.status == .restarting && !force {
            throw EngineError(.conflict, "cannot remove container \"/\(record.name)\": container is restarting: stop the container before removing or force remove")
        }
        if record.state.running {
            guard force else {
                throw EngineError(.conflict, "cannot remove container \"/\(record.name)\": container is running: stop the container before removing or force remove")
            }
            stopping.insert(id)
            await EngineLog.attempt("kill \(record.name) for its removal") { try await shims.signal(id, SIGKILL, all: true) }
            _ = await exitOfRunning(id)
            // A start that slipped in after the exit ends before the files go.
            await waitUntilFree(id)
            guard let exited = containers[id] else { return }
            if exited.state.running {
                throw EngineError(.conflict, "cannot remove container \"/\(record.name)\": it was started again while it was being removed")
            }
            record = exited
        }
        record.state.status = .removing
        // The commit point: without its record the container is gone, even across a crash
        // (start-up deletes whatever files a removed container left).
        unlink(directory(id) + "/config.v2.json")
        unmountShm(id)
        containers[id] = nil
        restartDelays[id] = nil
        for exec in execs.values where exec.containerID == id { execs[exec.id] = nil }
        discardFiles(of: id)
        if volumes || record.autoRemove { await removeAnonymousVolumes(of: record) }
        await publish("destroy", record)
        for waiter in removalWaiters.removeValue(forKey: id) ?? [] { waiter.resume(returning: record.state.exitCode) }
    }

    /// Unmounts and deletes a removed container's files off the actor and off the request's
    /// path: unmounting its root waits for the kernel to tear down the container's mount
    /// namespace (several milliseconds), which `docker run --rm` need not wait for.
    private func discardFiles(of id: String) {
        let snapshots = images.snapshots
        let paths = [shims.bundle(id), shims.shim(id).directory, directory(id)]
        discarding[id] = Task.detached {
            snapshots.removeContainer(id)
            for path in paths where FileManager.default.fileExists(atPath: path) {
                // The shim deletes its own directory as it ends: a walk racing it is tried again
                // before it counts as a failure.
                if (try? FileManager.default.removeItem(atPath: path)) == nil, FileManager.default.fileExists(atPath: path) {
                    EngineLog.attempt("delete \(path) of removed container \(id)") { try FileManager.default.removeItem(atPath: path) }
                }
            }
            await self.discarded(id)
        }
    }

    private func discarded(_ id: String) {
        discarding[id] = nil
    }

    /// Waits until every removed container's files are gone (before images lose their layers,
    /// and at shutdown).
    public func settleRemovals() async {
        // Each task removes its own entry when done.
        while let task = discarding.values.first { await task.value }
    }

    public func rename(_ reference: String, to newName: String) async throws {
        let id = try resolve(reference)
        var record = containers[id]!
        let oldName = record.name
        let name = try chooseName(newName)
        record.name = name
        try save(record)
        await publish("rename", record, extra: ["oldName": "/" + oldName])
    }
}
