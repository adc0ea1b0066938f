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
            let record = listing.record
            return .object([
                "Id": .string(record.id.description), "ParentId": .string(""),
                "RepoTags": .array(familiarTags(record).map(JSONValue.string)),
                "RepoDigests": .array(repoDigests(record).map(JSONValue.string)),
                "Created": .int(record.created.flatMap(Date.parseTimestamp)?.unixSeconds ?? 0),
                "Size": .int(record.size), "SharedSize": .int(-1), "VirtualSize": .int(record.size),
                "Labels": .object(listing.labels.mapValues(JSONValue.string)), "Containers": .int(-1),
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

    func inspectImage(_ name: String) async throws -> JSONValue {
        let (record, config) = try await images.inspect(name)
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
            switch removal {
            case let .untagged(familiar): return .object(["Untagged": .string(familiar)])
            case let .deleted(id): return .object(["Deleted": .string(id.description)])
            }
        }))
    }

    private func prune(_ request: APIRequest) async throws -> JSONValue {
        let filter = try PruneFilter(try request.filters(), accepting: ["dangling", "until", "label", "label!"])
        let removed = try await images.prune(filter)
        let entries: [JSONValue] = removed.flatMap { image, names in
            names.map { JSONValue.object(["Untagged": .string($0)]) } + [.object(["Deleted": .string(image.id.description)])]
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
