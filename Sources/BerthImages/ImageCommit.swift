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

extension ImageStore {
    /// What `docker commit` records besides the layer: the new image's runtime config and history.
    public struct CommitOptions: Sendable {
        public var config: ImageConfig.Config?
        public var comment: String?
        public var author: String?
        /// The container's command, for the history's `created_by`.
        public var createdBy: String
        public var reference: String?

        public init(config: ImageConfig.Config?, comment: String?, author: String?, createdBy: String, reference: String?) {
            self.config = config
            self.comment = comment
            self.author = author
            self.createdBy = createdBy
            self.reference = reference
        }
    }

    /// `docker commit`: `layerTar` (an uncompressed layer diffed from a container) on top of `base`
    /// becomes a new image, recorded and tagged in one transaction. `layerTar` is the caller's
    /// scratch file: it moves into the content store.
    public func commit(base: ImageRecord, layerTar: String, options: CommitOptions) throws -> Digest {
        guard let manifestDigest = base.manifestDigest else { throw ImageStoreError.io("image \(base.id) has no manifest") }
        let baseManifest = try JSONDecoder().decode(ImageManifest.self, from: try content.read(manifestDigest))
        let baseConfig = try config(base)
        let (diffID, length, _) = try Self.hashFile(layerTar)
        let diffIDs = baseConfig.rootfs.diffIDs + [diffID]
        let chain = ChainID.chain(diffIDs)
        let unpack = { [snapshots] in
            _ = try snapshots.createLayer(chain.last!, parent: base.chain.last) { directory, mode in
                try LayerApplier(mode: mode).apply(layerPath: layerTar, to: directory).bytes
            }
        }
        if content.contains(diffID) { try unpack() } else { try content.adopt(layerTar, as: diffID, meanwhile: unpack) }

        let created = Self.now()
        var history = baseConfig.history ?? []
        var entry = ImageConfig.History(created: created, createdBy: options.createdBy, comment: options.comment)
        entry.author = options.author
        history.append(entry)
        var config = ImageConfig(architecture: baseConfig.architecture, os: baseConfig.os, config: options.config,
                                 rootfs: .init(diffIDs: diffIDs), history: history, created: created)
        config.variant = baseConfig.variant
        config.author = options.author
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configData = try encoder.encode(config)
        let id = try content.write(configData)
        let manifest = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: id, size: Int64(configData.count)),
                                     layers: baseManifest.layers + [Descriptor(mediaType: MediaType.ociLayer, digest: diffID, size: length)])
        let newManifestDigest = try content.write(try encoder.encode(manifest))
        let tags = try options.reference.map { [try ImageReference(parsing: $0).description] } ?? []
        try metadata.add(ImageRecord(id: id, manifestDigest: newManifestDigest, created: created, size: base.size + length, chain: chain),
                         tags: tags)
        return id
    }
}
