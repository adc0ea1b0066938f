import BerthEngine
import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Synchronization

/// `/images` over an `ImageBackend`. Image names hold slashes (`127.0.0.1:5000/team/app:1`):
/// their routes take the path up to the action, the last segment.
struct ImageRouter: Sendable {
    let images: any ImageBackend

    var routes: [Route] {
        let images = self.images
        return [
            Route("GET", "/images/json") { request, _ in .json(200, try await self.listImages(request)) },
            Route("POST", "/images/create") { request, _ in try await self.create(request) },
            Route("POST", "/images/load") { request, _ in try await self.load(request) },
            Route("GET", "/images/get") { request, _ in try await self.save(names: request.queryList("names")) },
            Route("POST", "/images/prune") { request, _ in .json(200, try await self.prune(request)) },
            Route("GET", "/images/search") { _, _ in
                throw EngineError(.notImplemented, "image search is not supported by Berth: search your registry's own interface")
            },
            Route("GET", "/images/{name*}/json") { _, path in .json(200, try await self.inspectImage(path["name"])) },
            Route("GET", "/images/{name*}/history") { _, path in .json(200, try await self.history(path["name"])) },
            Route("GET", "/images/{name*}/get") { _, path in try await self.save(names: [path["name"]]) },
            Route("POST", "/images/{name*}/tag") { request, path in
                try await images.tag(path["name"], repository: request.query["repo"], tag: request.query["tag"])
                return .empty(201)
            },
            Route("POST", "/images/{name*}/push") { request, path in try await self.push(path["name"], request) },
            Route("DELETE", "/images/{name*}") { request, path in try await self.remove(path["name"], request) },
        ]
    }

    private func listImages(_ request: APIRequest) async throws -> JSONValue {
        .array(try await images.list(filters: try request.filters()).map { listing in
            var summary = Self.summary(listing.record)
            summary.labels = listing.labels
            return summary.json
        })
    }

    /// An image as `GET /images/json` and `/system/df` list it; `Containers` and `SharedSize`
    /// are -1 (not counted) as dockerd answers without `shared-size`.
    static func summary(_ record: ImageRecord) -> ImageSummary {
        var summary = ImageSummary()
        summary.id = record.id.description
        summary.parentId = ""
        summary.repoTags = familiarTags(record)
        summary.repoDigests = repoDigests(record)
        summary.created = record.created.flatMap(Date.parseTimestamp)?.unixSeconds ?? 0
        summary.size = record.size
        summary.sharedSize = -1
        summary.labels = [:]
        summary.containers = -1
        return summary
    }

    private static func familiarTags(_ record: ImageRecord) -> [String] {
        record.tags.compactMap { (try? ImageReference(parsing: $0))?.familiar }.sorted()
    }

    private static func repoDigests(_ record: ImageRecord) -> [String] {
        guard let digest = record.manifestDigest else { return [] }
        return Array(Set(record.tags.compactMap { tag -> String? in
            guard let reference = try? ImageReference(parsing: tag) else { return nil }
            return "\(reference.familiarRepository)@\(digest)"
        })).sorted()
    }

    func inspectImage(_ name: String) async throws -> JSONValue {
        let (record, config) = try await images.inspect(name)
        var inspect = ImageInspect()
        inspect.id = record.id.description
        inspect.repoTags = Self.familiarTags(record)
        inspect.repoDigests = Self.repoDigests(record)
        inspect.parent = ""
        inspect.comment = config.history?.last?.comment ?? ""
        inspect.created = record.created ?? ""
        inspect.dockerVersion = ""
        inspect.author = config.author ?? ""
        inspect.config = try JSONValue(encoding: config.config ?? ImageConfig.Config())
        inspect.architecture = config.architecture
        inspect.variant = config.variant
        inspect.os = config.os
        inspect.size = record.size
        var driver = DriverData()
        driver.name = images.storageDriver
        driver.nullFields = ["Data"]
        inspect.graphDriver = driver
        var rootFS = ImageInspectRootFS()
        rootFS.type = "layers"
        rootFS.layers = config.rootfs.diffIDs.map(\.description)
        inspect.rootFS = rootFS
        var metadata = ImageInspectMetadata()
        metadata.lastTagTime = ContainerRunState.zeroTime
        inspect.metadata = metadata
        return inspect.json
    }

    private func history(_ name: String) async throws -> JSONValue {
        .array(try await images.history(name).map { entry in
            .object([
                "Id": .string(entry.id), "Created": .int(entry.created.flatMap(Date.parseTimestamp)?.unixSeconds ?? 0),
                "CreatedBy": .string(entry.createdBy),
                "Tags": entry.tags.isEmpty ? .null : .array(entry.tags.compactMap { (try? ImageReference(parsing: $0))?.familiar }.map(JSONValue.string)),
                "Size": .int(entry.size), "Comment": .string(entry.comment),
            ])
        })
    }

    private func remove(_ name: String, _ request: APIRequest) async throws -> APIResponse {
        .json(200, .array(try await images.remove(name, force: request.flag("force")).map { removal in
            var item = ImageDeleteResponseItem()
            switch removal {
            case let .untagged(familiar): item.untagged = familiar
            case let .deleted(id): item.deleted = id.description
            }
            return item.json
        }))
    }

    private func prune(_ request: APIRequest) async throws -> JSONValue {
        let filter = try PruneFilter(try request.filters(), accepting: ["dangling", "until", "label", "label!"])
        let removed = try await images.prune(filter)
        let entries: [JSONValue] = removed.flatMap { image, names in
            var deleted = ImageDeleteResponseItem()
            deleted.deleted = image.id.description
            return names.map { name in
                var untagged = ImageDeleteResponseItem()
                untagged.untagged = name
                return untagged.json
            } + [deleted.json]
        }
        return .object(["ImagesDeleted": entries.isEmpty ? .null : .array(entries),
                        "SpaceReclaimed": .int(removed.reduce(0) { $0 + $1.image.size })])
    }

    private func create(_ request: APIRequest) async throws -> APIResponse {
        if let source = request.query["fromSrc"] { return try await importImage(request, source: source) }
        guard let from = request.query["fromImage"], !from.isEmpty else { throw EngineError(.badRequest, "fromImage or fromSrc is required") }
        var name = from
        if let tag = request.query["tag"], !tag.isEmpty { name += tag.hasPrefix("sha256:") ? "@\(tag)" : ":\(tag)" }
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch { throw EngineError(.badRequest, "invalid reference format: \(name)") }
        let service = images, auth = request.header("X-Registry-Auth")
        return try await progressStream { send in try await service.pull(reference, auth: auth, progress: send) }
    }

    /// A JSON-progress response fed by `work`: Docker's jsonmessage lines, and a final
    /// `errorDetail` line when the work fails.
    ///
    /// As dockerd: a failure before the first message is the response's status (a pull of an
    /// image that is not there answers 404, an unauthorized one 401), not a 200 with an error.
    private func progressStream(_ work: @escaping @Sendable (@escaping @Sendable (ProgressMessage) -> Void) async throws -> Void) async throws -> APIResponse {
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
                    if !gate.fail(Router.mapped(error)) { continuation.yield(ImageRouter.errorLine(error)) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return .stream(contentType: "application/json", stream)
    }

    /// Docker's jsonmessage for a failure once a stream has begun.
    static func errorLine(_ error: Error) -> [UInt8] {
        let message = "\(Router.mapped(error))"
        return JSONValue.object(["errorDetail": .object(["message": .string(message)]), "error": .string(message)]).bytes + [10]
    }

    private func importImage(_ request: APIRequest, source: String) async throws -> APIResponse {
        guard source == "-" else { throw EngineError(.notImplemented, "import from a URL is not supported: send the archive as the request body") }
        var reference: String?
        if let repository = request.query["repo"], !repository.isEmpty {
            reference = repository + ((request.query["tag"]).flatMap { $0.isEmpty ? nil : ":\($0)" } ?? "")
        }
        let id = try await images.importArchive(request.uploadedBody, reference: reference,
                                                     changes: request.queryPairs.filter { $0.0 == "changes" }.map(\.1),
                                                     message: request.query["message"].flatMap { $0.isEmpty ? nil : $0 })
        return .bytes(200, contentType: "application/json", JSONValue.object(["status": .string(id.description)]).bytes + [10])
    }

    private func push(_ name: String, _ request: APIRequest) async throws -> APIResponse {
        var target = name
        if let tag = request.query["tag"], !tag.isEmpty { target += ":\(tag)" }
        let reference: ImageReference
        do { reference = try ImageReference(parsing: target) } catch { throw EngineError(.badRequest, "invalid reference format: \(target)") }
        _ = try await images.inspect(reference.description)
        let service = images, auth = request.header("X-Registry-Auth")
        return try await progressStream { send in try await service.push(reference, auth: auth, progress: send) }
    }

    private func save(names: [String]) async throws -> APIResponse {
        .download(contentType: "application/x-tar", try await images.save(names))
    }

    /// `docker load`: quietly (`quiet=1`, what the docker CLI asks when not on a terminal) the
    /// "Loaded image" lines once done, or errors as HTTP statuses; otherwise a stream with a
    /// "Loading layer" progress message per layer first, errors as `errorDetail` lines.
    private func load(_ request: APIRequest) async throws -> APIResponse {
        let service = images, body = request.uploadedBody
        @Sendable func lines(_ loaded: [ImageService.Loaded]) -> [UInt8] {
            loaded.flatMap { image in
                (image.names.isEmpty ? ["Loaded image ID: \(image.id)\n"] : image.names.map { "Loaded image: \($0)\n" })
                    .flatMap { JSONValue.object(["stream": .string($0)]).bytes + [10] }
            }
        }
        let quiet = ["1", "true"].contains(request.query["quiet"] ?? "")
        guard !quiet else { return .bytes(200, contentType: "application/json", lines(try await service.loadArchive(body) { _, _ in })) }
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        Task {
            do {
                let loaded = try await service.loadArchive(body) { digest, size in
                    let message = ProgressMessage(status: "Loading layer", id: PullEvent.shortID(digest), current: size, total: size)
                    if let value = try? JSONValue(encoding: message) { continuation.yield(value.bytes + [10]) }
                }
                continuation.yield(lines(loaded))
            } catch {
                continuation.yield(ImageRouter.errorLine(error))
            }
            continuation.finish()
        }
        return .stream(contentType: "application/json", stream)
    }
}

extension APIRequest {
    /// The body of an upload route as it arrives (or, for a request built without one, the
    /// bytes read whole).
    var uploadedBody: RequestBody {
        upload ?? .whole(body)
    }

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
