import AsyncHTTPClient
import BerthArchive
import BerthImages
import BerthOCI
import NIOCore
import Foundation

/// `docker pull`: manifest (index → this platform), config, layers downloaded in parallel into
/// the content store (resuming partial downloads), unpacked into snapshots, then recorded.
public struct ImagePuller: Sendable {
    public let client: RegistryClient
    public let store: ImageStore
    public let platform: Platform

    public init(client: RegistryClient, store: ImageStore, platform: Platform = .current) {
        self.client = client
        self.store = store
        self.platform = platform
    }

    public func pull(_ reference: ImageReference, progress: @escaping @Sendable (PullEvent) -> Void = { _ in }) async throws -> ImageRecord {
        let fetched = try await client.manifest(reference)
        // After the manifest, as dockerd: a pull that cannot start fails before any output, so
        // the client gets an error status, not a 200 with an error line.
        progress(.resolving(path: reference.path, tag: reference.tag ?? reference.digest?.description ?? ImageReference.defaultTag))
        switch try ManifestDocument.decode(fetched.data, contentType: fetched.mediaType) {
        case let .manifest(manifest):
            return try await pull(reference, manifest: manifest, manifestData: fetched.data, reportedDigest: fetched.digest, progress: progress)
        case let .index(index):
            guard let chosen = index.manifest(for: platform) else {
                throw RegistryError.noMatchingPlatform(reference.familiar, wanted: platform.description,
                                                       available: index.manifests.compactMap { $0.platform?.description })
            }
            let entry = try await client.manifest(try ImageReference(parsing: "\(reference.repository)@\(chosen.digest)"))
            guard case let .manifest(manifest) = try ManifestDocument.decode(entry.data, contentType: entry.mediaType) else {
                throw RegistryError.protocolError("\(reference): an index entry is itself an index")
            }
            // "Digest:" names what the tag points at, the index, as Docker prints it.
            return try await pull(reference, manifest: manifest, manifestData: entry.data, reportedDigest: fetched.digest, progress: progress)
        }
    }

    private func pull(_ reference: ImageReference, manifest: ImageManifest, manifestData: Data, reportedDigest: Digest,
                      progress: @escaping @Sendable (PullEvent) -> Void) async throws -> ImageRecord {
        for layer in manifest.layers where MediaType.layerCompression(layer.mediaType) == nil {
            throw RegistryError.protocolError("\(reference): layer \(layer.digest) has unsupported media type \(layer.mediaType)")
        }
        // Config: small, fetched whole and verified.
        if !store.content.contains(manifest.config.digest) {
            let (response, _) = try await client.blob(reference, manifest.config.digest)
            let body = try await response.body.collect(upTo: 64 << 20)
            try store.content.write(Data(body.readableBytesView), expected: manifest.config.digest)
        }
        let config = try JSONDecoder().decode(ImageConfig.self, from: try store.content.read(manifest.config.digest))
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw RegistryError.protocolError("\(reference): config lists \(config.rootfs.diffIDs.count) layers, manifest \(manifest.layers.count)")
        }
        let chain = ChainID.chain(config.rootfs.diffIDs)
        for (i, layer) in manifest.layers.enumerated() {
            progress(store.snapshots.hasLayer(chain[i]) ? .alreadyExists(PullEvent.shortID(layer.digest)) : .waiting(PullEvent.shortID(layer.digest)))
        }
        // Downloads run in parallel, at most `maxConcurrentDownloads` at a time, while layers are
        // extracted bottom-up, each as soon as its parent is done and its bytes arrive.
        let missing = manifest.layers.enumerated().filter { !store.snapshots.hasLayer(chain[$0.offset]) && !store.content.contains($0.element.digest) }
        let feeds = Dictionary(uniqueKeysWithValues: missing.map { ($0.element.digest, LayerFeed()) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await extract(manifest.layers, chain: chain, feeds: feeds, progress: progress) }
            var next = 0
            func start() {
                guard next < missing.count else { return }
                let layer = missing[next].element
                next += 1
                group.addTask { try await download(reference, layer, feed: feeds[layer.digest]!, progress: progress) }
            }
            for _ in 0..<max(1, client.configuration.maxConcurrentDownloads) { start() }
            while try await group.next() != nil { start() }
        }
        let manifestDigest = try store.content.write(manifestData)
        let record = ImageRecord(id: manifest.config.digest, manifestDigest: manifestDigest, created: config.created,
                                 size: manifest.layers.reduce(0) { $0 + $1.size }, chain: chain)
        let tags = reference.tag != nil ? [reference.description] : []
        try store.metadata.add(record, tags: tags)
        progress(.digest(reportedDigest))
        return try store.metadata.image(record.id) ?? record
    }

    /// Extracts the layers not yet unpacked, in order, on a thread of its own (extraction blocks);
    /// a layer still downloading is followed through its feed.
    private func extract(_ layers: [Descriptor], chain: [Digest], feeds: [Digest: LayerFeed],
                         progress: @escaping @Sendable (PullEvent) -> Void) async throws {
        let store = self.store
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                Thread.detachNewThread {
                    continuation.resume(with: Result {
                        for (i, layer) in layers.enumerated() where !store.snapshots.hasLayer(chain[i]) {
                            try Self.extract(layer, chain: chain[i], parent: i == 0 ? nil : chain[i - 1], feed: feeds[layer.digest],
                                             store: store, progress: progress)
                        }
                    })
                }
            }
        } onCancel: {
            for feed in feeds.values { feed.finished(.failure(CancellationError())) }
        }
    }

    private static func extract(_ layer: Descriptor, chain: Digest, parent: Digest?, feed: LayerFeed?, store: ImageStore,
                                progress: @escaping @Sendable (PullEvent) -> Void) throws {
        let id = PullEvent.shortID(layer.digest)
        try feed?.awaitStart()
        // A followed layer shows "Extracting" once its download completes (`download` says it).
        if feed == nil { progress(.extracting(id)) }
        try store.snapshots.createLayer(chain, parent: parent) { dir, mode in
            guard let feed else {
                return try LayerApplier(mode: mode).apply(layerPath: store.content.path(layer.digest), to: dir).bytes
            }
            do {
                let bytes = try LayerApplier(mode: mode).apply(source: LayerFeed.Follower(feed), to: dir).bytes
                // Published only once the download proved the digest.
                try feed.awaitVerified()
                return bytes
            } catch {
                try feed.awaitVerified()  // a failed download explains a failed extraction best
                throw error
            }
        }
        progress(.pullComplete(id))
    }

    /// One layer blob into the content store, resuming what an interrupted pull left; `feed`
    /// lets the extractor follow it.
    private func download(_ reference: ImageReference, _ layer: Descriptor, feed: LayerFeed,
                          progress: @escaping @Sendable (PullEvent) -> Void) async throws {
        do {
            try await download(reference, layer, progress: progress) { try feed.started(path: $0, offset: $1) } advanced: { feed.advanced(to: $0) }
            // Before the feed ends, so that it comes before the extractor's "Pull complete".
            progress(.extracting(PullEvent.shortID(layer.digest)))
            feed.finished(.success(()))
        } catch {
            feed.finished(.failure(error))
            throw error
        }
    }

    private func download(_ reference: ImageReference, _ layer: Descriptor, progress: @escaping @Sendable (PullEvent) -> Void,
                          started: (String, Int64) throws -> Void, advanced: (Int64) -> Void) async throws {
        let id = PullEvent.shortID(layer.digest)
        let ingest = try store.content.ingest(layer.digest, size: layer.size)
        defer { ingest.close() }
        let (response, resumed) = try await client.blob(reference, layer.digest, offset: ingest.offset)
        if !resumed && ingest.offset > 0 { try ingest.reset() }
        try started(ingest.path, ingest.offset)
        var lastReport: Int64 = -1
        for try await chunk in response.body {
            try Task.checkCancellation()
            try chunk.withUnsafeReadableBytes { try ingest.append($0) }
            advanced(ingest.offset)
            // Report about every 1% (and the end), not every chunk.
            if ingest.offset - lastReport >= max(layer.size / 100, 32 << 10) || ingest.offset == layer.size {
                lastReport = ingest.offset
                progress(.downloading(id, current: ingest.offset, total: layer.size))
            }
        }
        progress(.verifying(id))
        try ingest.commit()
        progress(.downloadComplete(id))
    }
}
