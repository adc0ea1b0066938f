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

/// `docker load` and `docker save`: Docker's archive (`manifest.json`, `repositories`) with the OCI
/// layout in the same tar, as Docker 25+ writes it; loading also takes older Docker archives and
/// plain OCI layouts.
extension ImageStore {
    /// The Docker archive's `manifest.json` entries.
    struct ArchiveManifest: Codable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    /// Loads every image of the archive at `path`; returns the image IDs and the tags they got.
    /// `layerLoaded` is called after each layer is stored and unpacked (its digest and size);
    /// errors name the archive `name` (say, "the uploaded archive") rather than its path.
    public func load(archive path: String, named name: String? = nil,
                     layerLoaded: (Digest, Int64) -> Void = { _, _ in }) throws -> [(id: Digest, tags: [String])] {
        let shown = name ?? path
        let work = "\(root)/tmp/load-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try SmallFile.makeDirectories(work, mode: 0o700)
        defer { SmallFile.removeTree(work) }
        do {
            _ = try LayerApplier(mode: .flat).apply(layerPath: path, to: work)
        } catch {
            throw ImageStoreError.io("cannot read image archive \(shown): \(error)")
        }
        var loaded: [(Digest, [String])] = []
        if let data = FileManager.default.contents(atPath: work + "/manifest.json") {
            let entries: [ArchiveManifest]
            do { entries = try JSONDecoder().decode([ArchiveManifest].self, from: data) } catch {
                throw ImageStoreError.io("invalid manifest.json in \(shown): \(error)")
            }
            for entry in entries {
                let tags = try (entry.RepoTags ?? []).map { try ImageReference(parsing: $0).description }
                let id = try importImage(configPath: work + "/" + entry.Config, layerPaths: entry.Layers.map { work + "/" + $0 }, tags: tags,
                                         layerLoaded: layerLoaded)
                loaded.append((id, tags))
            }
        } else if let data = FileManager.default.contents(atPath: work + "/index.json") {
            let index = try JSONDecoder().decode(ImageIndex.self, from: data)
            for descriptor in index.manifests {
                let manifest = try JSONDecoder().decode(ImageManifest.self, from: try Self.blob(work, descriptor.digest))
                let annotations = descriptor.annotations ?? [:]
                let tags = try (annotations["io.containerd.image.name"]).map { [try ImageReference(parsing: $0).description] } ?? []
                let id = try importImage(configPath: Self.blobPath(work, manifest.config.digest),
                                         layerPaths: manifest.layers.map { Self.blobPath(work, $0.digest) }, tags: tags,
                                         layerLoaded: layerLoaded)
                loaded.append((id, tags))
            }
        } else {
            throw ImageStoreError.io("\(shown) is not an image archive: it has neither manifest.json nor index.json")
        }
        return loaded
    }

    /// Stores one image's config and layers, unpacks the layers, records it and its tags.
    func importImage(configPath: String, layerPaths: [String], tags: [String],
                     layerLoaded: (Digest, Int64) -> Void = { _, _ in }) throws -> Digest {
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw ImageStoreError.io("image config \(configPath) is missing from the archive")
        }
        let config: ImageConfig
        do { config = try JSONDecoder().decode(ImageConfig.self, from: configData) } catch {
            throw ImageStoreError.io("invalid image config: \(error)")
        }
        guard config.rootfs.diffIDs.count == layerPaths.count else {
            throw ImageStoreError.io("image config lists \(config.rootfs.diffIDs.count) layers, the archive has \(layerPaths.count)")
        }
        let id = try content.write(configData)
        let chain = ChainID.chain(config.rootfs.diffIDs)
        var descriptors: [Descriptor] = []
        var size: Int64 = 0
        for (i, layerPath) in layerPaths.enumerated() {
            let (digest, length, compressed) = try Self.hashFile(layerPath)
            // An uncompressed layer's digest is its diff ID: check it against the config.
            if !compressed && digest != config.rootfs.diffIDs[i] {
                throw ImageStoreError.digestMismatch(expected: config.rootfs.diffIDs[i], actual: digest)
            }
            if !content.contains(digest) { try copyIntoStore(layerPath, digest: digest, size: length) }
            try snapshots.createLayer(chain[i], parent: i == 0 ? nil : chain[i - 1]) { dir, mode in
                try LayerApplier(mode: mode).apply(layerPath: layerPath, to: dir).bytes
            }
            layerLoaded(digest, length)
            descriptors.append(Descriptor(mediaType: compressed ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: digest, size: length))
            size += length
        }
        let manifest = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: id, size: Int64(configData.count)),
                                     layers: descriptors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let manifestDigest = try content.write(try encoder.encode(manifest))
        try metadata.add(ImageRecord(id: id, manifestDigest: manifestDigest, created: config.created, size: size, chain: chain), tags: tags)
        return id
    }

    /// Writes `references` (or image IDs) as one archive in Docker 25+ form.
    public func save(_ references: [String], to path: String) throws {
        let images = try references.map { try resolve($0) }
        let temp = path + ".partial"
        let tar = try TarWriter(path: temp)
        do {
            try tar.addDirectory("blobs")
            try tar.addDirectory("blobs/sha256")
            var written = Set<Digest>()
            var manifestEntries: [ArchiveManifest] = []
            var indexEntries: [Descriptor] = []
            var repositories: [String: [String: String]] = [:]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for image in images {
                guard let manifestDigest = image.manifestDigest else { throw ImageStoreError.io("image \(image.id) has no manifest") }
                let manifestData = try content.read(manifestDigest)
                let manifest = try JSONDecoder().decode(ImageManifest.self, from: manifestData)
                for blob in [manifestDigest, image.id] + manifest.layers.map(\.digest) where written.insert(blob).inserted {
                    try tar.addFile("blobs/sha256/\(blob.encoded)", contentsOf: content.path(blob))
                }
                let wanted = references.compactMap { try? ImageReference(parsing: $0).description }
                let tags = image.tags.filter { wanted.contains($0) || references.contains(image.id.description) || references.contains(image.id.encoded) }
                let familiar = try tags.map { try ImageReference(parsing: $0) }
                manifestEntries.append(ArchiveManifest(Config: "blobs/sha256/\(image.id.encoded)", RepoTags: familiar.map(\.familiar),
                                                       Layers: manifest.layers.map { "blobs/sha256/\($0.digest.encoded)" }))
                for reference in familiar {
                    repositories[reference.familiarRepository, default: [:]][reference.tag ?? "latest"] = manifest.layers.last?.digest.encoded ?? ""
                    indexEntries.append(Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestData.count),
                                                   annotations: ["io.containerd.image.name": reference.description,
                                                                 "org.opencontainers.image.ref.name": reference.tag ?? "latest"]))
                }
                if familiar.isEmpty {
                    indexEntries.append(Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestData.count)))
                }
            }
            try tar.addFile("index.json", bytes: Array(try encoder.encode(ImageIndex(manifests: indexEntries))))
            try tar.addFile("manifest.json", bytes: Array(try encoder.encode(manifestEntries)))
            try tar.addFile("oci-layout", bytes: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            if !repositories.isEmpty { try tar.addFile("repositories", bytes: Array(try encoder.encode(repositories))) }
            try tar.close()
            try syscallChecked("rename \(temp)") { rename(temp, path) }
        } catch {
            unlink(temp)
            throw error
        }
    }

    func copyIntoStore(_ path: String, digest: Digest, size: Int64) throws {
        let ingest = try content.ingest(digest, size: size)
        defer { ingest.close() }
        if ingest.offset > 0 { try ingest.reset() }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageStoreError.io("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw ImageStoreError.io("read \(path): \(String(cString: strerror(errno)))") }
            try buffer.withUnsafeBytes { try ingest.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        try ingest.commit()
    }

    /// sha256 and length of a file, and whether it starts with a gzip or zstd header.
    static func hashFile(_ path: String) throws -> (Digest, Int64, Bool) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageStoreError.io("layer \(path) is missing from the archive") }
        defer { close(fd) }
        var hasher = DigestHasher()
        var length: Int64 = 0
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            if head.isEmpty { head = Array(buffer[0..<min(n, 4)]) }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            length += Int64(n)
        }
        let compressed = head.starts(with: [0x1f, 0x8b]) || head.starts(with: [0x28, 0xb5, 0x2f, 0xfd])
        return (hasher.finalize(), length, compressed)
    }

    static func blobPath(_ layout: String, _ digest: Digest) -> String {
        "\(layout)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }

    static func blob(_ layout: String, _ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: blobPath(layout, digest)) else {
            throw ImageStoreError.blobNotFound(digest)
        }
        try digest.verify(data)
        return data
    }
}

extension ImageStore {
    /// `docker import`: a root filesystem tar (plain or compressed) becomes a one-layer image,
    /// tagged `reference` if given; `config` supplies Cmd, Env and the like (`--change`).
    public func importRootfs(_ path: String, reference: String?, config runtime: ImageConfig.Config? = nil,
                             message: String? = nil) throws -> Digest {
        let work = "\(root)/tmp/import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try SmallFile.makeDirectories(work, mode: 0o700)
        defer { SmallFile.removeTree(work) }
        let layer = work + "/layer.tar"
        var hasher = DigestHasher()
        do {
            try Decompressor.decompress(path, to: layer) { hasher.update($0) }
        } catch {
            throw ImageStoreError.io("cannot import \(path): \(error)")
        }
        let diffID = hasher.finalize()
        let created = Self.now()
        let config = ImageConfig(architecture: Platform.current.architecture, config: runtime, rootfs: .init(diffIDs: [diffID]),
                                 history: [.init(created: created, createdBy: "", comment: message ?? "Imported from \(path)")],
                                 created: created)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configPath = work + "/config.json"
        try encoder.encode(config).write(to: URL(fileURLWithPath: configPath))
        let tags = try reference.map { [try ImageReference(parsing: $0).description] } ?? []
        return try importImage(configPath: configPath, layerPaths: [layer], tags: tags)
    }

    /// RFC 3339 UTC, as image configs record times.
    static func now() -> String {
        Date().formatted(.iso8601)
    }
}
