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
        progress(.resolving(path: reference.path, tag: reference.tag ?? reference.digest?.description ?? ImageReference.defaultTag))
        let fetched = try await client.manifest(reference)
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
        // Downloads in parallel, at most `maxConcurrentDownloads` at a time.
        let missing = manifest.layers.enumerated().filter { !store.snapshots.hasLayer(chain[$0.offset]) && !store.content.contains($0.element.digest) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                guard next < missing.count else { return }
                let layer = missing[next].element
                next += 1
                group.addTask { try await download(reference, layer, progress: progress) }
            }
            for _ in 0..<max(1, client.configuration.maxConcurrentDownloads) { start() }
            while try await group.next() != nil { start() }
        }
        // Unpack bottom-up; each snapshot is published atomically.
        for (i, layer) in manifest.layers.enumerated() where !store.snapshots.hasLayer(chain[i]) {
            progress(.extracting(PullEvent.shortID(layer.digest)))
            try store.snapshots.createLayer(chain[i], parent: i == 0 ? nil : chain[i - 1]) { dir, mode in
                try LayerApplier(mode: mode).apply(layerPath: store.content.path(layer.digest), to: dir).bytes
            }
            progress(.pullComplete(PullEvent.shortID(layer.digest)))
        }
        let manifestDigest = try store.content.write(manifestData)
        let record = ImageRecord(id: manifest.config.digest, manifestDigest: manifestDigest, created: config.created,
                                 size: manifest.layers.reduce(0) { $0 + $1.size }, chain: chain)
        let tags = reference.tag != nil ? [reference.description] : []
        try store.metadata.add(record, tags: tags)
        progress(.digest(reportedDigest))
        return try store.metadata.image(record.id) ?? record
    }

    /// One layer blob into the content store, resuming what an interrupted pull left.
    private func download(_ reference: ImageReference, _ layer: Descriptor, progress: @escaping @Sendable (PullEvent) -> Void) async throws {
        let id = PullEvent.shortID(layer.digest)
        let ingest = try store.content.ingest(layer.digest, size: layer.size)
        defer { ingest.close() }
        let (response, resumed) = try await client.blob(reference, layer.digest, offset: ingest.offset)
        if !resumed && ingest.offset > 0 { try ingest.reset() }
        var lastReport: Int64 = -1
        for try await chunk in response.body {
            try Task.checkCancellation()
            try chunk.withUnsafeReadableBytes { try ingest.append($0) }
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
