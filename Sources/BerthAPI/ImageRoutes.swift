import BerthEngine
import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Synchronization

extension Router {
    func images(_ request: APIRequest, _ path: [String]) async throws -> APIResponse {
        switch (request.method, path.first ?? "") {
        case ("GET", "json") where path.count == 1: return .json(200, try listImages(request))
        case ("POST", "create") where path.count == 1: return try await create(request)
        case ("POST", "load") where path.count == 1: return try await load(request)
        case ("GET", "get") where path.count == 1: return try save(names: request.queryList("names"))
        case ("POST", "prune") where path.count == 1: return .json(200, try await prune(request))
        case ("GET", "search") where path.count == 1:
            throw EngineError(.notImplemented, "image search is not supported by Berth: search your registry's own interface")
        default: break
        }
        // Names hold slashes (`127.0.0.1:5000/team/app:1`): the action is the last segment.
        guard !path.isEmpty else { throw Router.unsupported(request) }
        if request.method == "DELETE" {
            return try await remove(path.joined(separator: "/"), request)
        }
        let action = path.last!
        let name = path.dropLast().joined(separator: "/")
        switch (request.method, action) {
        case ("GET", "json"): return .json(200, try inspectImage(name))
        case ("GET", "history"): return .json(200, try history(name))
        case ("GET", "get"): return try save(names: [name])
        case ("POST", "tag"):
            guard let repository = request.query["repo"], !repository.isEmpty else { throw EngineError(.badRequest, "repository name is missing") }
            let tag = request.query["tag"].flatMap { $0.isEmpty ? nil : $0 } ?? "latest"
            let target = "\(repository):\(tag)"
            guard (try? ImageReference(parsing: target)) != nil else { throw EngineError(.badRequest, "invalid reference format: \(target)") }
            try images.tag(name, as: target)
            let image = try images.resolve(target)
            await events.publish("image", "tag", id: image.id.description, attributes: ["name": (try ImageReference(parsing: target)).familiar])
            return .empty(201)
        case ("POST", "push"): return try await push(name, request)
        default: throw Router.unsupported(request)
        }
    }

    private func listImages(_ request: APIRequest) throws -> JSONValue {
        let filters = try request.filters()
        let dangling = filters["dangling"]?.contains("true") ?? false
        var records = try images.list(danglingOnly: dangling)
        if let references = filters["reference"] {
            records = records.filter { record in
                record.tags.contains { tag in
                    let familiar = (try? ImageReference(parsing: tag))?.familiar ?? tag
                    return references.contains { pattern in
                        fnmatch(pattern, familiar, 0) == 0 || fnmatch(pattern, familiar.split(separator: ":").first.map(String.init) ?? familiar, 0) == 0
                    }
                }
            }
        }
        if let labels = filters["label"] {
            records = records.filter { record in
                let imageLabels = (try? images.config(record))?.config?.labels ?? [:]
                return LabelFilter.matchAll(labels, imageLabels)
            }
        }
        return .array(records.map { record in
            let config = try? images.config(record)
            return .object([
                "Id": .string(record.id.description), "ParentId": .string(""),
                "RepoTags": .array(familiarTags(record).map(JSONValue.string)),
                "RepoDigests": .array(repoDigests(record).map(JSONValue.string)),
                "Created": .int(record.created.flatMap(Date.parseTimestamp)?.unixSeconds ?? 0),
                "Size": .int(record.size), "SharedSize": .int(-1), "VirtualSize": .int(record.size),
                "Labels": .object((config?.config?.labels ?? [:]).mapValues(JSONValue.string)), "Containers": .int(-1),
            ])
        })
    }

    private func familiarTags(_ record: ImageRecord) -> [String] {
        record.tags.compactMap { (try? ImageReference(parsing: $0))?.familiar }.sorted()
    }

    private func repoDigests(_ record: ImageRecord) -> [String] {
        guard let digest = record.manifestDigest else { return [] }
        return Array(Set(record.tags.compactMap { tag -> String? in
            guard let reference = try? ImageReference(parsing: tag) else { return nil }
            return "\(reference.familiarRepository)@\(digest)"
        })).sorted()
    }

    func inspectImage(_ name: String) throws -> JSONValue {
        let record = try images.resolve(name)
        let config = try images.config(record)
        let runtime = try JSONValue(encoding: config.config ?? ImageConfig.Config())
        var object: [String: JSONValue] = [
            "Id": .string(record.id.description), "RepoTags": .array(familiarTags(record).map(JSONValue.string)),
            "RepoDigests": .array(repoDigests(record).map(JSONValue.string)), "Parent": .string(""),
            "Comment": .string(config.history?.last?.comment ?? ""),
            "Created": .string(record.created ?? ""), "DockerVersion": .string(""), "Author": .string(config.author ?? ""),
            "Config": runtime, "Architecture": .string(config.architecture), "Os": .string(config.os),
            "Size": .int(record.size), "VirtualSize": .int(record.size),
            "GraphDriver": .object(["Name": .string("overlay2"), "Data": .null]),
            "RootFS": .object(["Type": .string("layers"), "Layers": .array(config.rootfs.diffIDs.map { .string($0.description) })]),
            "Metadata": .object(["LastTagTime": .string(ContainerState.zeroTime)]),
        ]
        if let variant = config.variant { object["Variant"] = .string(variant) }
        return .object(object)
    }

    private func history(_ name: String) throws -> JSONValue {
        let record = try images.resolve(name)
        return .array(try images.history(record).map { entry in
            .object([
                "Id": .string(entry.id), "Created": .int(entry.created.flatMap(Date.parseTimestamp)?.unixSeconds ?? 0),
                "CreatedBy": .string(entry.createdBy),
                "Tags": entry.tags.isEmpty ? .null : .array(entry.tags.compactMap { (try? ImageReference(parsing: $0))?.familiar }.map(JSONValue.string)),
                "Size": .int(entry.size), "Comment": .string(entry.comment),
            ])
        })
    }

    private func remove(_ name: String, _ request: APIRequest) async throws -> APIResponse {
        let record = try images.resolve(name)
        let lines = try images.remove(name, force: request.flag("force"), usedBy: await engine.imageUsers())
        var result: [JSONValue] = []
        for line in lines {
            if line.hasPrefix("Untagged: ") {
                result.append(.object(["Untagged": .string(String(line.dropFirst(10)))]))
                await events.publish("image", "untag", id: record.id.description, attributes: ["name": String(line.dropFirst(10))])
            } else if line.hasPrefix("Deleted: ") {
                result.append(.object(["Deleted": .string(String(line.dropFirst(9)))]))
                await events.publish("image", "delete", id: record.id.description, attributes: ["name": name])
            }
        }
        return .json(200, .array(result))
    }

    private func prune(_ request: APIRequest) async throws -> JSONValue {
        let filter = try PruneFilter(try request.filters(), accepting: ["dangling", "until", "label", "label!"])
        let removed = try images.prune(all: !filter.danglingOnly, inUse: await engine.imagesInUse()) { record in
            filter.selects(labels: (try images.config(record)).config?.labels ?? [:],
                           created: record.created.flatMap(Date.parseTimestamp))
        }
        var entries: [JSONValue] = []
        for image in removed {
            for tag in image.untagged {
                let name = (try? ImageReference(parsing: tag))?.familiar ?? tag
                entries.append(.object(["Untagged": .string(name)]))
                await events.publish("image", "untag", id: image.id.description, attributes: ["name": name])
            }
            entries.append(.object(["Deleted": .string(image.id.description)]))
            await events.publish("image", "delete", id: image.id.description)
        }
        return .object(["ImagesDeleted": entries.isEmpty ? .null : .array(entries),
                        "SpaceReclaimed": .int(removed.reduce(0) { $0 + $1.size })])
    }

    /// A registry client for one request: the daemon's settings plus the `X-Registry-Auth` credentials.
    private func registryClient(_ request: APIRequest, host: String) -> (RegistryClient, owned: Bool) {
        guard let header = request.header("X-Registry-Auth"), !header.isEmpty else { return (registry, false) }
        var padded = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while padded.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded), let auth = try? JSONValue(parsing: data),
              let user = auth["username"]?.string, let password = auth["password"]?.string, !user.isEmpty else { return (registry, false) }
        var configuration = registry.configuration
        configuration.credentials[host] = RegistryCredentials(username: user, password: password)
        return (RegistryClient(configuration: configuration), true)
    }

    private func create(_ request: APIRequest) async throws -> APIResponse {
        if let source = request.query["fromSrc"] { return try await importImage(request, source: source) }
        guard let from = request.query["fromImage"], !from.isEmpty else { throw EngineError(.badRequest, "fromImage or fromSrc is required") }
        var name = from
        if let tag = request.query["tag"], !tag.isEmpty { name += tag.hasPrefix("sha256:") ? "@\(tag)" : ":\(tag)" }
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch { throw EngineError(.badRequest, "invalid reference format: \(name)") }
        let (client, owned) = registryClient(request, host: reference.domain)
        let puller = ImagePuller(client: client, store: images)
        let images = self.images, events = self.events
        return try await progressStream(client: client, owned: owned) { send in
            let existing = try? images.resolve(reference.description)
            let record = try await puller.pull(reference) { send($0.message) }
            let fresh = existing?.id != record.id
            send(ProgressMessage(status: fresh ? "Status: Downloaded newer image for \(reference.familiar)" : "Status: Image is up to date for \(reference.familiar)"))
            await events.publish("image", "pull", id: reference.familiar, attributes: ["name": reference.familiar])
        }
    }

    /// A JSON-progress response fed by `work`: Docker's jsonmessage lines, and a final
    /// `errorDetail` line when the work fails. A per-request registry client is shut down after.
    ///
    /// As dockerd: a failure before the first message is the response's status (a pull of an
    /// image that is not there answers 404, an unauthorized one 401), not a 200 with an error.
    private func progressStream(client: RegistryClient, owned: Bool,
                                _ work: @escaping @Sendable (@escaping @Sendable (ProgressMessage) -> Void) async throws -> Void) async throws -> APIResponse {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let gate = FirstMessageGate()
        try await withCheckedThrowingContinuation { (first: CheckedContinuation<Void, Error>) in
            gate.arm(first)
            let task = Task {
                do {
                    try await work { message in
                        gate.open()
                        if let value = try? JSONValue(encoding: message) { continuation.yield(value.bytes + [10]) }
                    }
                    gate.open()
                } catch {
                    if !gate.fail(Router.mapped(error)) {
                        let message = "\(Router.mapped(error))"
                        continuation.yield(JSONValue.object(["errorDetail": .object(["message": .string(message)]), "error": .string(message)]).bytes + [10])
                    }
                }
                if owned { try? await client.shutdown() }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return .stream(contentType: "application/json", stream)
    }

    private func importImage(_ request: APIRequest, source: String) async throws -> APIResponse {
        guard source == "-" else { throw EngineError(.notImplemented, "import from a URL is not supported: send the archive as the request body") }
        let file = engine.scratchPath("import")
        defer { unlink(file) }
        _ = FileManager.default.createFile(atPath: file, contents: Data(request.body))
        var reference: String?
        if let repository = request.query["repo"], !repository.isEmpty {
            reference = repository + ((request.query["tag"]).flatMap { $0.isEmpty ? nil : ":\($0)" } ?? "")
        }
        let changes = request.queryPairs.filter { $0.0 == "changes" }.map(\.1)
        let config = changes.isEmpty ? nil : try ConfigChanges.apply(changes, to: .object([:])).decode(ImageConfig.Config.self)
        let message = request.query["message"].flatMap { $0.isEmpty ? nil : $0 }
        let id = try images.importRootfs(file, reference: reference, config: config, message: message)
        await events.publish("image", "import", id: id.description)
        return .bytes(200, contentType: "application/json", JSONValue.object(["status": .string(id.description)]).bytes + [10])
    }

    private func push(_ name: String, _ request: APIRequest) async throws -> APIResponse {
        var target = name
        if let tag = request.query["tag"], !tag.isEmpty { target += ":\(tag)" }
        let reference: ImageReference
        do { reference = try ImageReference(parsing: target) } catch { throw EngineError(.badRequest, "invalid reference format: \(target)") }
        _ = try images.resolve(reference.description)
        let (client, owned) = registryClient(request, host: reference.domain)
        let pusher = ImagePusher(client: client, store: images)
        let events = self.events
        return try await progressStream(client: client, owned: owned) { send in
            send(ProgressMessage(status: "The push refers to repository [\(reference.repository)]"))
            _ = try await pusher.push(reference.description, as: reference) { send($0.message) }
            await events.publish("image", "push", id: reference.familiar, attributes: ["name": reference.familiar])
        }
    }

    private func save(names: [String]) throws -> APIResponse {
        guard !names.isEmpty else { throw EngineError(.badRequest, "no image names given") }
        let file = engine.scratchPath("save") + ".tar"
        defer { unlink(file) }
        for name in names { _ = try images.resolve(name) }
        try images.save(names, to: file)
        guard let data = FileManager.default.contents(atPath: file) else { throw EngineError(.internalError, "save: archive missing") }
        return .bytes(200, contentType: "application/x-tar", Array(data))
    }

    /// `docker load`: quietly (`quiet=1`, what the docker CLI asks when not on a terminal) the
    /// "Loaded image" lines once done, or errors as HTTP statuses; otherwise a stream with a
    /// "Loading layer" progress message per layer first, errors as `errorDetail` lines.
    private func load(_ request: APIRequest) async throws -> APIResponse {
        let file = engine.scratchPath("load") + ".tar"
        _ = FileManager.default.createFile(atPath: file, contents: Data(request.body))
        let images = self.images, events = self.events
        @Sendable func loadAll(_ progress: @escaping (Digest, Int64) -> Void) async throws -> [UInt8] {
            defer { unlink(file) }
            let loaded: [(id: Digest, tags: [String])]
            do { loaded = try images.load(archive: file, named: "the uploaded archive", layerLoaded: progress) } catch {
                throw EngineError(.badRequest, "load: \(error)")
            }
            var lines: [UInt8] = []
            for image in loaded {
                let names = image.tags.compactMap { (try? ImageReference(parsing: $0))?.familiar }
                if names.isEmpty {
                    lines += JSONValue.object(["stream": .string("Loaded image ID: \(image.id)\n")]).bytes + [10]
                }
                for name in names { lines += JSONValue.object(["stream": .string("Loaded image: \(name)\n")]).bytes + [10] }
                await events.publish("image", "load", id: image.id.description)
            }
            return lines
        }
        let quiet = ["1", "true"].contains(request.query["quiet"] ?? "")
        guard !quiet else { return .bytes(200, contentType: "application/json", try await loadAll { _, _ in }) }
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        Task {
            do {
                let lines = try await loadAll { digest, size in
                    let message = ProgressMessage(status: "Loading layer", id: PullEvent.shortID(digest), current: size, total: size)
                    if let value = try? JSONValue(encoding: message) { continuation.yield(value.bytes + [10]) }
                }
                continuation.yield(lines)
            } catch {
                let message = "\(Router.mapped(error))"
                continuation.yield(JSONValue.object(["errorDetail": .object(["message": .string(message)]), "error": .string(message)]).bytes + [10])
            }
            continuation.finish()
        }
        return .stream(contentType: "application/json", stream)
    }
}

extension APIRequest {
    /// Every value of a repeated query parameter (`names=a&names=b`).
    func queryList(_ name: String) -> [String] {
        queryPairs.filter { $0.0 == name }.map(\.1).filter { !$0.isEmpty }
    }
}

/// Resumes a waiting response once: when the first progress message arrives (or the work ends
/// without one), or with the error if the work fails first.
private final class FirstMessageGate: Sendable {
    private let waiting = Mutex<CheckedContinuation<Void, Error>?>(nil)

    func arm(_ continuation: CheckedContinuation<Void, Error>) { waiting.withLock { $0 = continuation } }

    func open() { take()?.resume() }

    /// Whether the error went to the waiting response (false: the stream had begun).
    func fail(_ error: Error) -> Bool {
        guard let pending = take() else { return false }
        pending.resume(throwing: error)
        return true
    }

    private func take() -> CheckedContinuation<Void, Error>? {
        waiting.withLock { pending in
            defer { pending = nil }
            return pending
        }
    }
}
