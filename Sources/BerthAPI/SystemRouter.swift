import BerthEngine
import BerthImages
import BerthOCI
import BerthRegistry
import Foundation

/// `/_ping`, `/version`, `/info`, `/events`, `/system/df` and `/auth`.
struct SystemRouter: Sendable {
    let containers: any ContainerBackend
    let images: any ImageBackend
    let volumes: any VolumeBackend
    let events: EventBus
    let config: DaemonConfig
    /// The host's facts for `/version` and `/info`, read by the engine.
    let describeHost: @Sendable () -> HostDescription

    var routes: [Route] {
        let ping: Route.Handler = { _, _ in .bytes(200, contentType: "text/plain; charset=utf-8", Array("OK".utf8)) }
        return [
            Route("GET", "/_ping", ping),
            Route("HEAD", "/_ping", ping),
            Route("GET", "/version") { _, _ in .json(200, self.version(self.describeHost())) },
            Route("GET", "/info") { _, _ in .json(200, try await self.info()) },
            Route("GET", "/events") { request, _ in try await self.eventStream(request) },
            Route("GET", "/system/df") { _, _ in .json(200, try await self.diskUsage()) },
            Route("POST", "/auth") { request, _ in try await self.authenticate(request) },
        ]
    }

    private func version(_ host: HostDescription) -> JSONValue {
        let details: JSONValue = .object([
            "ApiVersion": .string(Router.apiVersion), "MinAPIVersion": .string(Router.minimumAPIVersion),
            "GitCommit": .string(""), "GoVersion": .string("swift6"), "Os": .string("linux"),
            "Arch": .string(host.goArchitecture), "KernelVersion": .string(host.kernelVersion), "Experimental": .string("false"),
            "BuildTime": .string(""),
        ])
        return .object([
            "Platform": .object(["Name": .string("Berth Engine")]),
            "Components": .array([.object(["Name": .string("Engine"), "Version": .string(Router.engineVersion), "Details": details])]),
            "Version": .string(Router.engineVersion), "ApiVersion": .string(Router.apiVersion),
            "MinAPIVersion": .string(Router.minimumAPIVersion), "GitCommit": .string(""), "GoVersion": .string("swift6"),
            "Os": .string("linux"), "Arch": .string(host.goArchitecture), "KernelVersion": .string(host.kernelVersion),
            "BuildTime": .string(""),
        ])
    }

    private func info() async throws -> JSONValue {
        let containers = try await self.containers.list(all: true, limit: nil, size: false, filters: [:])
        let states = containers.compactMap(\.state)
        let host = describeHost()
        var runtimes: [String: JSONValue] = [:]
        for name in config.runtimeNames {
            if let path = try? config.runtimePath(name) { runtimes[name] = .object(["path": .string(path)]) }
        }
        // As dockerd lists them: the seccomp profile, the cgroup namespace (v2), user namespaces.
        var securityOptions = config.seccompProfile == "unconfined" ? [] : ["name=seccomp,profile=\(config.seccompProfile == "builtin" ? "builtin" : "custom")"]
        if host.cgroupVersion == "2" { securityOptions.append("name=cgroupns") }
        if config.remap != nil { securityOptions.append("name=userns") }
        return .object([
            "ID": .string(host.engineID), "Containers": .int(Int64(containers.count)),
            "ContainersRunning": .int(Int64(states.filter { $0 == "running" }.count)),
            "ContainersPaused": .int(Int64(states.filter { $0 == "paused" }.count)),
            "ContainersStopped": .int(Int64(states.filter { $0 != "running" && $0 != "paused" }.count)),
            "Images": .int(Int64(try await images.all().count)),
            "Driver": .string(images.storageDriver),
            "DriverStatus": .array([.array([.string("Backing Filesystem"), .string("extfs")])]),
            "Plugins": .object(["Volume": .array([.string("local")]), "Network": .array([.string("host"), .string("none")]),
                                "Log": .array([.string("json-file"), .string("none")])]),
            "MemoryLimit": .bool(true), "SwapLimit": .bool(LimitSupport.swapLimitSupported), "KernelMemoryTCP": .bool(false),
            "CpuCfsPeriod": .bool(true), "CpuCfsQuota": .bool(true), "CPUShares": .bool(true), "CPUSet": .bool(true),
            "PidsLimit": .bool(true), "OomKillDisable": .bool(LimitSupport.oomKillDisable), "IPv4Forwarding": .bool(true),
            "Debug": .bool(config.debug), "NFd": .int(0), "NGoroutines": .int(0), "SystemTime": .string(Date().rfc3339Nano),
            "LoggingDriver": .string(config.logDriver), "CgroupDriver": .string("cgroupfs"), "CgroupVersion": .string(host.cgroupVersion),
            "NEventsListener": .int(0), "KernelVersion": .string(host.kernelVersion), "OperatingSystem": .string(host.operatingSystem),
            "OSVersion": .string(""), "OSType": .string("linux"), "Architecture": .string(host.machine),
            "IndexServerAddress": .string("https://index.docker.io/v1/"),
            "RegistryConfig": .object([
                "InsecureRegistryCIDRs": .array([.string("127.0.0.0/8")]),
                "IndexConfigs": .object([:]), "Mirrors": .array(config.registryMirrors.map(JSONValue.string)),
            ]),
            "NCPU": .int(Int64(host.cpus)), "MemTotal": .int(host.memoryBytes),
            "DockerRootDir": .string(config.dataRoot), "Name": .string(host.hostname), "Labels": .array([]),
            "ExperimentalBuild": .bool(false), "ServerVersion": .string(Router.engineVersion),
            "Runtimes": .object(runtimes), "DefaultRuntime": .string(config.defaultRuntime),
            "LiveRestoreEnabled": .bool(config.liveRestore), "Isolation": .string(""), "InitBinary": .string(""),
            "SecurityOptions": .array(securityOptions.map(JSONValue.string)), "Warnings": .array([]),
            "Swarm": .object(["LocalNodeState": .string("inactive"), "NodeID": .string(""), "NodeAddr": .string(""),
                              "ControlAvailable": .bool(false), "Error": .string(""), "RemoteManagers": .null]),
        ])
    }

    private func eventStream(_ request: APIRequest) async throws -> APIResponse {
        let filters = try request.filters()
        let since = request.query["since"].flatMap(Date.parseTimestamp)?.timeIntervalSince1970
        let until = request.query["until"].flatMap(Date.parseTimestamp)?.timeIntervalSince1970
        let (past, events) = await self.events.subscribe(since: since)
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        for event in past where SystemRouter.matches(event, filters) {
            if let until, Double(event.timeNano) / 1e9 > until { break }
            continuation.yield(event.message.json.bytes + [10])
        }
        if let until, until <= Date().timeIntervalSince1970 {
            continuation.finish()
            return .stream(contentType: "application/json", stream)
        }
        let task = Task {
            // `until` ends the stream at that time even when no event comes.
            let timer = until.map { until in
                Task {
                    try? await Task.sleep(seconds: until - Date().timeIntervalSince1970)
                    continuation.finish()
                }
            }
            for await event in events {
                if let until, Double(event.timeNano) / 1e9 > until { break }
                if SystemRouter.matches(event, filters) { continuation.yield(event.message.json.bytes + [10]) }
            }
            timer?.cancel()
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return .stream(contentType: "application/json", stream)
    }

    static func matches(_ event: EngineEvent, _ filters: [String: [String]]) -> Bool {
        for (key, values) in filters where !values.isEmpty {
            let ok: Bool
            switch key {
            case "type": ok = values.contains(event.type)
            case "event": ok = values.contains(event.action) || values.contains { event.action.hasPrefix($0 + ":") }
            case "container": ok = event.type == "container" && values.contains { event.actorID.hasPrefix($0) || event.attributes["name"] == $0 }
            case "image": ok = values.contains { event.attributes["image"] == $0 || event.attributes["name"] == $0 || event.actorID == $0 }
            case "label":
                ok = LabelFilter.matchAll(values, event.attributes)
            default: ok = true
            }
            if !ok { return false }
        }
        return true
    }

    private func diskUsage() async throws -> JSONValue {
        let containers = try await self.containers.list(all: true, limit: nil, size: true, filters: [:])
        let inUse = Set(containers.compactMap(\.imageID))
        let imageList = try await images.all()
        return .object([
            "LayersSize": .int(imageList.reduce(0) { $0 + $1.size }),
            "Images": .array(imageList.map { record in
                var summary = ImageRouter.summary(record)
                summary.sharedSize = 0
                summary.containers = inUse.contains(record.id.description) ? 1 : 0
                return summary.json
            }),
            "Containers": .array(containers.map(\.json)), "Volumes": .array(try await volumes.volumeUsage()), "BuildCache": .array([]),
        ])
    }

    private func authenticate(_ request: APIRequest) async throws -> APIResponse {
        let body = try request.json()
        guard let user = body["username"]?.string, let password = body["password"]?.string else {
            throw EngineError(.badRequest, "username and password are required")
        }
        try await images.login(user: user, password: password, server: body["serveraddress"]?.string ?? "docker.io")
        return .json(200, .object(["Status": .string("Login Succeeded"), "IdentityToken": .string("")]))
    }
}
