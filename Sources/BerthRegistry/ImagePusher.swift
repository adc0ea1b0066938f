import AsyncHTTPClient
import BerthImages
import BerthOCI
import NIOCore
import NIOHTTP1
import Foundation

/// What a push reports as it goes.
public enum PushEvent: Sendable, Equatable {
    case preparing(String)
    case alreadyExists(String)
    case pushing(String, current: Int64, total: Int64)
    /// "Mounted from library/busybox": the registry linked a blob it already had in another repository.
    case mounted(String, from: String)
    case pushed(String)
    /// "latest: digest: sha256:… size: 528"
    case digest(tag: String, digest: Digest, size: Int)
}

/// `docker push`: every blob the registry lacks (HEAD first), then the manifest under the tag.
public struct ImagePusher: Sendable {
    public let client: RegistryClient
    public let store: ImageStore
    /// Blobs above this size go up in chunks of this size (PATCH), smaller ones in one PUT.
    public var chunkSize = 8 << 20

    public init(client: RegistryClient, store: ImageStore) {
        self.client = client
        self.store = store
    }

    /// Pushes the local image `source` (reference or ID) as `target`; returns the manifest digest.
    @discardableResult
    public func push(_ source: String, as target: ImageReference, progress: @escaping @Sendable (PushEvent) -> Void = { _ in }) async throws -> Digest {
        let image = try store.resolve(source)
        // Repositories of the same registry that already hold this image's blobs (its other tags).
        let mountSources = image.tags.compactMap { try? ImageReference(parsing: $0) }
            .filter { $0.domain == target.domain && $0.path != target.path }.map(\.path)
        guard let manifestDigest = image.manifestDigest else { throw RegistryError.protocolError("image \(image.id) has no manifest to push") }
        let manifestData = try store.content.read(manifestDigest)
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: manifestData)
        for blob in manifest.layers + [manifest.config] {
            let id = PullEvent.shortID(blob.digest)
            progress(.preparing(id))
            if try await exists(target, blob.digest) {
                progress(.alreadyExists(id))
                continue
            }
            if let from = try await mount(target, blob.digest, candidates: mountSources) {
                progress(.mounted(id, from: from))
                continue
            }
            try await upload(target, blob, progress: progress)
            progress(.pushed(id))
        }
        let tag = target.tag ?? ImageReference.defaultTag
        let response = try await client.send(target.domain, "/v2/\(target.path)/manifests/\(tag)", repository: target.path, method: .PUT,
                                             body: ByteBuffer(bytes: manifestData),
                                             headers: [("Content-Type", manifest.mediaType ?? MediaType.ociManifest)],
                                             what: target.description, push: true, accept: [201, 200])
        _ = try? await response.body.collect(upTo: 1 << 16)
        if let returned = response.headers.first(name: "Docker-Content-Digest"), returned != manifestDigest.description {
            throw RegistryError.protocolError("registry stored the manifest of \(target) as \(returned), expected \(manifestDigest)")
        }
        progress(.digest(tag: tag, digest: manifestDigest, size: manifestData.count))
        return manifestDigest
    }

    private func exists(_ target: ImageReference, _ digest: Digest) async throws -> Bool {
        do {
            let response = try await client.send(target.domain, "/v2/\(target.path)/blobs/\(digest)", repository: target.path, method: .HEAD,
                                                 headers: [], what: "\(target.repository)@\(digest)", push: true, accept: [200])
            _ = try? await response.body.collect(upTo: 1 << 16)
            return true
        } catch RegistryError.notFound {
            return false
        }
    }

    /// Cross-repository mount: asks the registry to link the blob from a repository that has it;
    /// 201 means done, 202 means the registry declined (the upload then happens normally).
    private func mount(_ target: ImageReference, _ digest: Digest, candidates: [String]) async throws -> String? {
        for from in candidates {
            let path = "/v2/\(target.path)/blobs/uploads/?mount=\(RegistryClient.escape(digest.description))&from=\(RegistryClient.escape(from))"
            let response = try await client.send(target.domain, path, repository: target.path, method: .POST, body: ByteBuffer(),
                                                 headers: [], what: target.description, push: true, accept: [201, 202])
            _ = try? await response.body.collect(upTo: 1 << 16)
            if response.status.code == 201 { return from }
            // A declined mount opened an upload session; it simply expires.
        }
        return nil
    }

    private func upload(_ target: ImageReference, _ blob: Descriptor, progress: @escaping @Sendable (PushEvent) -> Void) async throws {
        let id = PullEvent.shortID(blob.digest)
        let start = try await client.send(target.domain, "/v2/\(target.path)/blobs/uploads/", repository: target.path, method: .POST,
                                          body: ByteBuffer(), headers: [], what: target.description, push: true, accept: [202])
        _ = try? await start.body.collect(upTo: 1 << 16)
        guard var location = start.headers.first(name: "Location") else {
            throw RegistryError.protocolError("registry gave no upload location for \(target)")
        }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: store.content.path(blob.digest)))
        defer { try? handle.close() }
        var offset: Int64 = 0
        if blob.size > Int64(chunkSize) {
            while offset < blob.size {
                let chunk = try handle.read(upToCount: chunkSize) ?? Data()
                guard !chunk.isEmpty else { break }
                let response = try await client.send(target.domain, location, repository: target.path, method: .PATCH,
                                                     body: ByteBuffer(bytes: chunk),
                                                     headers: [("Content-Type", "application/octet-stream"),
                                                               ("Content-Range", "\(offset)-\(offset + Int64(chunk.count) - 1)")],
                                                     what: "\(target.repository)@\(blob.digest)", push: true, accept: [202])
                _ = try? await response.body.collect(upTo: 1 << 16)
                location = response.headers.first(name: "Location") ?? location
                offset += Int64(chunk.count)
                progress(.pushing(id, current: offset, total: blob.size))
            }
            try await finish(target, location, blob, body: ByteBuffer())
        } else {
            let data = try handle.readToEnd() ?? Data()
            try await finish(target, location, blob, body: ByteBuffer(bytes: data))
            progress(.pushing(id, current: blob.size, total: blob.size))
        }
    }

    /// The closing PUT with `?digest=`: the registry verifies the blob and publishes it.
    private func finish(_ target: ImageReference, _ location: String, _ blob: Descriptor, body: ByteBuffer) async throws {
        let url = location + (location.contains("?") ? "&" : "?") + "digest=" + RegistryClient.escape(blob.digest.description)
        let response = try await client.send(target.domain, url, repository: target.path, method: .PUT, body: body,
                                             headers: [("Content-Type", "application/octet-stream")],
                                             what: "\(target.repository)@\(blob.digest)", push: true, accept: [201])
        _ = try? await response.body.collect(upTo: 1 << 16)
    }
}
