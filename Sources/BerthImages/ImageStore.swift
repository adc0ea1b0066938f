import BerthArchive
import BerthDigest
import BerthOCI
import BerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Images on this host: blobs in the content store, layers in the snapshotter, records and tags
/// in SQLite. The operations the daemon exposes (load, save, tag, remove, prune, list) live here.
public final class ImageStore: Sendable {
    public let root: String
    public let content: ContentStore
    public let snapshots: Snapshotter
    public let metadata: ImageMetadata

    /// `root` is the data root (`/var/lib/berth`): `content/`, `snapshots/`, `berth.db`.
    public init(root: String, driver: Snapshotter.Driver? = nil, ownerShift: OwnerShift? = nil) throws {
        self.root = root
        try SmallFile.makeDirectories(root + "/tmp", mode: 0o700)
        // Archives half-unpacked by a `load` that was killed.
        for leftover in SmallFile.list(root + "/tmp") { SmallFile.removeTree(root + "/tmp/" + leftover) }
        content = try ContentStore(root: root)
        snapshots = try Snapshotter(root: root + "/snapshots", driver: driver, ownerShift: ownerShift)
        metadata = try ImageMetadata(path: root + "/berth.db")
    }

    /// Every image, newest first; `dangling` keeps only untagged ones.
    public func list(danglingOnly: Bool = false) throws -> [ImageRecord] {
        try metadata.images().filter { !danglingOnly || $0.tags.isEmpty }
    }

    /// An image by reference (`busybox`, `127.0.0.1:5000/a:b`), full ID or unique ID prefix.
    public func resolve(_ nameOrID: String) throws -> ImageRecord {
        if let reference = try? ImageReference(parsing: nameOrID), let id = try metadata.resolve(reference.description),
           let image = try metadata.image(id) {
            return image
        }
        let hex = nameOrID.hasPrefix("sha256:") ? String(nameOrID.dropFirst(7)) : nameOrID
        if hex.count >= 4, hex.count <= 64, hex.allSatisfy(\.isHexDigit) {
            let matches = try metadata.imageIDs(withPrefix: hex.lowercased())
            if matches.count == 1, let image = try metadata.image(matches[0]) { return image }
            if matches.count > 1 { throw ImageStoreError.conflict("image ID prefix \(hex) is ambiguous") }
        }
        throw ImageStoreError.imageNotFound(nameOrID)
    }

    /// The image's configuration document.
    public func config(_ image: ImageRecord) throws -> ImageConfig {
        try JSONDecoder().decode(ImageConfig.self, from: try content.read(image.id))
    }

    /// `docker tag SOURCE TARGET`.
    public func tag(_ source: String, as target: String) throws {
        let image = try resolve(source)
        try metadata.tag(try ImageReference(parsing: target).description, image: image.id)
    }

    /// `docker rmi`: by reference removes the tag, and the image once no tag is left; by ID
    /// removes the image (with all its tags only if `force`). Removing an image in `usedBy`
    /// (image → a container using it) is refused unless `force`; untagging one of several tags
    /// is not. Returns what went, in Docker's order.
    public func remove(_ nameOrID: String, force: Bool, usedBy: [Digest: String] = [:]) throws -> [ImageRemoval] {
        let image = try resolve(nameOrID)
        let reference = (try? ImageReference(parsing: nameOrID))?.description
        // One of several tags: only the tag goes, whoever uses the image.
        if let reference, image.tags.contains(reference), image.tags.count > 1 {
            try metadata.untag(reference)
            return [.untagged(try ImageReference(parsing: reference).familiar)]
        }
        if let container = usedBy[image.id], !force {
            throw ImageStoreError.conflict("conflict: unable to remove repository reference \"\(nameOrID)\" (must force) - container \(container.prefix(12)) is using its referenced image \(image.id.encoded.prefix(12))")
        }
        var removals: [ImageRemoval] = []
        if let reference, image.tags.contains(reference) {
            try metadata.untag(reference)
            removals.append(.untagged(try ImageReference(parsing: reference).familiar))
        } else if image.tags.count > 1 && !force {
            throw ImageStoreError.conflict("conflict: unable to delete \(image.id.encoded.prefix(12)) (must be forced) - image is referenced in multiple repositories")
        } else {
            for tag in image.tags {
                try metadata.untag(tag)
                removals.append(.untagged(try ImageReference(parsing: tag).familiar))
            }
        }
        try delete(image)
        removals.append(.deleted(image.id))
        return removals
    }

    /// One step of a `docker rmi`: a name removed (familiar form), or the image itself.
    public enum ImageRemoval: Sendable, Equatable {
        case untagged(String)
        case deleted(Digest)
    }

    /// An image a prune removed, and the names it had.
    public struct Pruned: Sendable, Equatable {
        public let id: Digest
        /// Full references, as stored.
        public let untagged: [String]
        public let size: Int64
    }

    /// Removes dangling images (or, with `all`, every image not in `inUse`) that `selected`
    /// accepts (the caller's filters). Returns what went, in order.
    public func prune(all: Bool, inUse: Set<Digest> = [], where selected: (ImageRecord) throws -> Bool = { _ in true }) throws -> [Pruned] {
        var removed: [Pruned] = []
        for image in try metadata.images() where !inUse.contains(image.id) && (all || image.tags.isEmpty) {
            guard try selected(image) else { continue }
            for tag in image.tags { try metadata.untag(tag) }
            try delete(image)
            removed.append(Pruned(id: image.id, untagged: image.tags, size: image.size))
        }
        return removed
    }

    /// Drops the record, then the layers and blobs nothing else uses.
    private func delete(_ image: ImageRecord) throws {
        let manifest = image.manifestDigest.flatMap { try? JSONDecoder().decode(ImageManifest.self, from: try content.read($0)) }
        let released = try metadata.remove(image.id)
        for chainID in released { snapshots.removeLayer(chainID) }
        let stillUsed = Set(try metadata.images().flatMap { other -> [Digest] in
            guard let digest = other.manifestDigest, let m = try? JSONDecoder().decode(ImageManifest.self, from: try content.read(digest)) else { return [] }
            return m.layers.map(\.digest) + [m.config.digest, digest]
        })
        for blob in [image.id] + (image.manifestDigest.map { [$0] } ?? []) + (manifest?.layers.map(\.digest) ?? []) where !stillUsed.contains(blob) {
            content.delete(blob)
        }
    }
}
