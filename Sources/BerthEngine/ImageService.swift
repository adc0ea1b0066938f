import BerthImages
import BerthOCI
import BerthRegistry
import BerthSystem
import Foundation
import Synchronization

/// The image use cases the Engine API serves — pull, push, tag, remove, prune, load, import,
/// save, login — each with its events and its temporary files. The API layer only shapes what
/// these return.
public final class ImageService: Sendable {
    public let store: ImageStore
    let engine: ContainerEngine
    let events: EventBus
    let registry: RegistryClient

    public init(engine: ContainerEngine, registry: RegistryClient) {
        self.engine = engine
        store = engine.images
        events = engine.events
        self.registry = registry
    }

    // MARK: Queries

    /// An image listed with the labels of its configuration.
    public struct Listing: Sendable {
        public let record: ImageRecord
        public let labels: [String: String]

        public init(record: ImageRecord, labels: [String: String]) {
            self.record = record
            self.labels = labels
        }
    }

    /// `GET /images/json` with its `dangling`, `reference` and `label` filters.
    public func list(filters: [String: [String]]) throws -> [Listing] {
        let dangling = filters["dangling"]?.contains("true") ?? false
        var records = try store.list(danglingOnly: dangling)
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
        var listings = records.map { Listing(record: $0, labels: (try? store.config($0))?.config?.labels ?? [:]) }
        if let labels = filters["label"] {
            listings = listings.filter { LabelFilter.matchAll(labels, $0.labels) }
        }
        return listings
    }

    /// An image and its configuration, by name or ID.
    public func inspect(_ name: String) throws -> (record: ImageRecord, config: ImageConfig) {
        let record = try store.resolve(name)
        return (record, try store.config(record))
    }

    public func history(_ name: String) throws -> [ImageHistoryEntry] {
        try store.history(try store.resolve(name))
    }

    // MARK: Registry

    /// Pulls `reference` with the daemon's registry settings, or the credentials of an
    /// `X-Registry-Auth` header; `progress` gets Docker's progress messages.
    public func pull(_ reference: ImageReference, auth: String?, progress: @escaping @Sendable (ProgressMessage) -> Void) async throws {
        try await withClient(auth, host: reference.domain) { client in
            let existing = try? store.resolve(reference.description)
            let record = try await ImagePuller(client: client, store: store).pull(reference) { progress($0.message) }
            let fresh = existing?.id != record.id
            progress(ProgressMessage(status: fresh ? "Status: Downloaded newer image for \(reference.familiar)"
                                                   : "Status: Image is up to date for \(reference.familiar)"))
            await events.publish("image", "pull", id: reference.familiar, attributes: ["name": reference.familiar])
        }
    }

    /// Pushes `reference`, which must name a local image.
    public func push(_ reference: ImageReference, auth: String?, progress: @escaping @Sendable (ProgressMessage) -> Void) async throws {
        _ = try store.resolve(reference.description)
        try await withClient(auth, host: reference.domain) { client in
            progress(ProgressMessage(status: "The push refers to repository [\(reference.repository)]"))
            _ = try await ImagePusher(client: client, store: store).push(reference.description, as: reference) { progress($0.message) }
            await events.publish("image", "push", id: reference.familiar, attributes: ["name": reference.familiar])
        }
    }

    /// `POST /auth`: checks the credentials against `server`'s registry.
    public func login(user: String, password: String, server: String) async throws {
        var host = server.replacingOccurrences(of: "https://", with: "").replacingOccurrences(of: "http://", with: "")
        host = host.split(separator: "/").first.map(String.init) ?? host
        if host == "index.docker.io" || host.isEmpty { host = "docker.io" }
        var configuration = registry.configuration
        configuration.credentials[host] = RegistryCredentials(username: user, password: password)
        let client = RegistryClient(configuration: configuration)
        defer { Task { await EngineLog.attempt("shut down a login's registry client") { try await client.shutdown() } } }
        do {
            try await client.checkLogin(host: host)
        } catch {
            throw EngineError(.unauthorized, "login attempt to \(server) failed: \(error)")
        }
    }

    /// Runs `work` with the daemon's client, or with one of its own for the credentials of an
    /// `X-Registry-Auth` header (shut down after).
    private func withClient(_ auth: String?, host: String, _ work: (RegistryClient) async throws -> Void) async throws {
        guard let credentials = auth.flatMap(Self.credentials) else {
            try await work(registry)
            return
        }
        var configuration = registry.configuration
        configuration.credentials[host] = credentials
        let client = RegistryClient(configuration: configuration)
        do { try await work(client) } catch {
            await EngineLog.attempt("shut down a request's registry client") { try await client.shutdown() }
            throw error
        }
        await EngineLog.attempt("shut down a request's registry client") { try await client.shutdown() }
    }

    /// The credentials of an `X-Registry-Auth` header (base64url JSON); nil when it has none.
    static func credentials(_ header: String) -> RegistryCredentials? {
        var padded = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while padded.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded), let auth = try? JSONValue(parsing: data),
              let user = auth["username"]?.string, let password = auth["password"]?.string, !user.isEmpty else { return nil }
        return RegistryCredentials(username: user, password: password)
    }

    // MARK: Changes

    /// `docker tag NAME REPOSITORY[:TAG]`.
    public func tag(_ name: String, repository: String?, tag: String?) async throws {
        guard let repository, !repository.isEmpty else { throw EngineError(.badRequest, "repository name is missing") }
        let target = "\(repository):\(tag.flatMap { $0.isEmpty ? nil : $0 } ?? "latest")"
        guard let reference = try? ImageReference(parsing: target) else { throw EngineError(.badRequest, "invalid reference format: \(target)") }
        try store.tag(name, as: target)
        let image = try store.resolve(target)
        await events.publish("image", "tag", id: image.id.description, attributes: ["name": reference.familiar])
    }

    /// `docker rmi`: what went, in Docker's order; refused while a container uses the image
    /// unless `force`.
    public func remove(_ name: String, force: Bool) async throws -> [ImageStore.ImageRemoval] {
        let record = try store.resolve(name)
        let removals = try store.remove(name, force: force, usedBy: await engine.imageUsers())
        for removal in removals {
            switch removal {
            case let .untagged(familiar): await events.publish("image", "untag", id: record.id.description, attributes: ["name": familiar])
            case .deleted: await events.publish("image", "delete", id: record.id.description, attributes: ["name": name])
            }
        }
        return removals
    }

    /// `docker image prune`: the images removed, each with the names it had (familiar form).
    public func prune(_ filter: PruneFilter) async throws -> [(image: ImageStore.Pruned, names: [String])] {
        let removed = try store.prune(all: !filter.danglingOnly, inUse: await engine.imagesInUse()) { record in
            filter.selects(labels: (try store.config(record)).config?.labels ?? [:],
                           created: record.created.flatMap(Date.parseTimestamp))
        }
        var result: [(ImageStore.Pruned, [String])] = []
        for image in removed {
            let names = image.untagged.map { (try? ImageReference(parsing: $0))?.familiar ?? $0 }
            for name in names { await events.publish("image", "untag", id: image.id.description, attributes: ["name": name]) }
            await events.publish("image", "delete", id: image.id.description)
            result.append((image, names))
        }
        return result
    }

    // MARK: Archives

    /// An image `docker load` stored, and the names it got (familiar form).
    public struct Loaded: Sendable {
        public let id: Digest
        public let names: [String]

        public init(id: Digest, names: [String]) {
            self.id = id
            self.names = names
        }
    }

    /// `docker load`: the archive is written to a scratch file as it arrives, then loaded;
    /// `layerLoaded` is told each layer stored. Nothing is stored from an archive that fails.
    public func load<Body: AsyncSequence>(_ body: Body, layerLoaded: @escaping (Digest, Int64) -> Void = { _, _ in }) async throws -> [Loaded]
    where Body.Element == [UInt8] {
        let file = engine.scratchPath("load") + ".tar"
        try await ScratchFile.write(body, to: file)
        defer { unlink(file) }
        let loaded: [(id: Digest, tags: [String])]
        do { loaded = try store.load(archive: file, named: "the uploaded archive", layerLoaded: layerLoaded) } catch {
            throw EngineError(.badRequest, "load: \(error)")
        }
        var result: [Loaded] = []
        for image in loaded {
            result.append(Loaded(id: image.id, names: image.tags.compactMap { (try? ImageReference(parsing: $0))?.familiar }))
            await events.publish("image", "load", id: image.id.description)
        }
        return result
    }

    /// `docker import -`: a root filesystem tar becomes a one-layer image named `reference`,
    /// with `changes` (Dockerfile instructions) applied to its config.
    public func importRootfs<Body: AsyncSequence>(_ body: Body, reference: String?, changes: [String], message: String?) async throws -> Digest
    where Body.Element == [UInt8] {
        let config = changes.isEmpty ? nil : try ConfigChanges.apply(changes, to: .object([:])).decode(ImageConfig.Config.self)
        let file = engine.scratchPath("import")
        try await ScratchFile.write(body, to: file)
        defer { unlink(file) }
        let id = try store.importRootfs(file, reference: reference, config: config, message: message, source: "-", consuming: true)
        await events.publish("image", "import", id: id.description)
        return id
    }

    /// `docker save`: the archive of `names`, written by a thread of its own into a pipe that
    /// the response reads as the client takes it (nothing is written to disk).
    public func save(_ names: [String]) throws -> AsyncThrowingStream<[UInt8], any Error> {
        guard !names.isEmpty else { throw EngineError(.badRequest, "no image names given") }
        for name in names { _ = try store.resolve(name) }
        let (reading, writing) = try FileDescriptors.pipe()
        // Fewer, larger reads and writes than the default 64 KiB pipe allows.
        FileDescriptors.setPipeSize(writing, 1 << 20)
        let failure = Mutex<(any Error)?>(nil)
        let store = self.store
        Thread.detachNewThread {
            defer { close(writing) }
            do { try store.save(names, toDescriptor: writing) } catch {
                EngineLog.logger.warning("save \(names.joined(separator: " ")): \(error)")
                failure.withLock { $0 = error }
            }
        }
        return DescriptorChunks.stream(reading) { failure.withLock { $0 } }
    }
}
