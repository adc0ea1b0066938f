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
        // Every path the archive names is checked before anything is stored.
        var planned: [(config: String, layers: [String], tags: [String])] = []
        if let data = try Self.contentsInside(work, "manifest.json", archive: shown) {
            let entries: [ArchiveManifest]
            do { entries = try JSONDecoder().decode([ArchiveManifest].self, from: data) } catch {
                throw ImageStoreError.io("invalid manifest.json in \(shown): \(error)")
            }
            for entry in entries {
                planned.append((try Self.fileInside(work, entry.Config, archive: shown),
                                try entry.Layers.map { try Self.fileInside(work, $0, archive: shown) },
                                try (entry.RepoTags ?? []).map { try ImageReference(parsing: $0).description }))
            }
        } else if let data = try Self.contentsInside(work, "index.json", archive: shown) {
            let index: ImageIndex
            do { index = try JSONDecoder().decode(ImageIndex.self, from: data) } catch {
                throw ImageStoreError.io("invalid index.json in \(shown): \(error)")
            }
            for descriptor in index.manifests {
                let manifest = try JSONDecoder().decode(ImageManifest.self, from: try Self.blob(work, descriptor.digest, archive: shown))
                let name = descriptor.annotations?["io.containerd.image.name"]
                planned.append((try Self.blobPath(work, manifest.config.digest, archive: shown),
                                try manifest.layers.map { try Self.blobPath(work, $0.digest, archive: shown) },
                                try name.map { [try ImageReference(parsing: $0).description] } ?? []))
            }
        } else {
            throw ImageStoreError.io("\(shown) is not an image archive: it has neither manifest.json nor index.json")
        }
        var loaded: [(Digest, [String])] = []
        var layers = LayerFiles()
        for image in planned {
            let id = try importImage(configPath: image.config, layerPaths: image.layers, tags: image.tags, layers: &layers,
                                     layerLoaded: layerLoaded)
            loaded.append((id, image.tags))
        }
        return loaded
    }

    /// The layer files of an archive already hashed and moved into the store (images of one
    /// archive share layers, and an image may list one layer twice).
    struct LayerFiles {
        var stored: [String: (digest: Digest, length: Int64, compressed: Bool)] = [:]
    }

    /// Stores one image's config and layers, unpacks the layers, records it and its tags. Layer
    /// files are the caller's scratch files: they move into the content store.
    func importImage(configPath: String, layerPaths: [String], tags: [String], layers: inout LayerFiles,
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
            let (digest, length, compressed) = try layers.stored[layerPath] ?? Self.hashFile(layerPath)
            layers.stored[layerPath] = (digest, length, compressed)
            // An uncompressed layer's digest is its diff ID: check it against the config.
            if !compressed && digest != config.rootfs.diffIDs[i] {
                throw ImageStoreError.digestMismatch(expected: config.rootfs.diffIDs[i], actual: digest)
            }
            // The layer file is this load's own: it moves into the store rather than being
            // copied, flushed to disk while it is unpacked.
            let unpack = { [snapshots] (source: String) in
                _ = try snapshots.createLayer(chain[i], parent: i == 0 ? nil : chain[i - 1]) { dir, mode in
                    try LayerApplier(mode: mode).apply(layerPath: source, to: dir).bytes
                }
            }
            if content.contains(digest) { try unpack(content.path(digest)) } else {
                try content.adopt(layerPath, as: digest) { try unpack(layerPath) }
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
        let temp = path + ".partial"
        do {
            try save(references, into: try TarWriter(path: temp))
            try syscallChecked("rename \(temp)") { rename(temp, path) }
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Writes `references` as one archive to the descriptor `fd` (a pipe a response reads).
    public func save(_ references: [String], toDescriptor fd: Int32) throws {
        try save(references, into: try TarWriter(descriptor: fd))
    }

    private func save(_ references: [String], into tar: TarWriter) throws {
        let images = try references.map { try resolve($0) }
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
        }
        try tar.close()
    }

    /// Whether the file starts with a compressor's magic bytes (gzip, zstd, xz, bzip2).
    static func isCompressed(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 6)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, 6) }
        guard n > 0 else { return true }
        let magic: [[UInt8]] = [[0x1f, 0x8b], [0x28, 0xb5, 0x2f, 0xfd], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], [0x42, 0x5a, 0x68]]
        return magic.contains { head[0..<n].starts(with: $0) }
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

    static func blobPath(_ layout: String, _ digest: Digest, archive: String) throws -> String {
        try fileInside(layout, "blobs/\(digest.algorithm.rawValue)/\(digest.encoded)", archive: archive)
    }

    static func blob(_ layout: String, _ digest: Digest, archive: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: try blobPath(layout, digest, archive: archive)) else {
            throw ImageStoreError.blobNotFound(digest)
        }
        try digest.verify(data)
        return data
    }

    /// The real path of `relative`, a path an archive names (a manifest's `Config` or `Layers`,
    /// a blob), once it is known to be a regular file inside the extracted archive `root`:
    /// `..`, absolute paths and symlinks that lead out are refused, so no file of the host can
    /// become part of an image. (`root` is private to this load: nothing changes it meanwhile.)
    static func fileInside(_ root: String, _ relative: String, archive: String) throws -> String {
        let refuse = { (reason: String) in ImageStoreError.io("\(archive) is not a valid image archive: \(relative) \(reason)") }
        guard !relative.isEmpty, !relative.hasPrefix("/") else { throw refuse("is not a relative path inside the archive") }
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw ImageStoreError.io("open \(root): \(String(cString: strerror(errno)))") }
        defer { close(rootFD) }
        let fd: Int32
        do {
            fd = try FileDescriptors.openBeneath(rootFD, relative, flags: O_RDONLY | O_CLOEXEC)
        } catch let error as SystemError {
            switch error.errno {
            case .noSuchFileOrDirectory: throw refuse("is missing from the archive")
            case .improperLink: throw refuse("leads outside the archive")
            default: throw refuse("cannot be opened: \(error)")
            }
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw refuse("is not a regular file") }
        let resolved = try FileDescriptors.path(of: fd)
        guard let canonical = realpath(root, nil) else { throw ImageStoreError.io("resolve \(root): \(String(cString: strerror(errno)))") }
        defer { free(canonical) }
        guard resolved.hasPrefix(String(cString: canonical) + "/") else { throw refuse("leads outside the archive") }
        return resolved
    }

    /// The content of `relative` inside the extracted archive, or `nil` if the archive has no such entry.
    static func contentsInside(_ root: String, _ relative: String, archive: String) throws -> Data? {
        guard SmallFile.lexists(root + "/" + relative) else { return nil }
        return FileManager.default.contents(atPath: try fileInside(root, relative, archive: archive))
    }
}

extension ImageStore {
    /// `docker import`: a root filesystem tar (plain or compressed) becomes a one-layer image,
    /// tagged `reference` if given; `config` supplies Cmd, Env and the like (`--change`). The
    /// history names `source` (what the user imported; `-` for stdin). With `consuming`, `path`
    /// is the caller's scratch file: a plain tar moves into the store instead of being copied.
    public func importRootfs(_ path: String, reference: String?, config runtime: ImageConfig.Config? = nil,
                             message: String? = nil, source: String? = nil, consuming: Bool = false) throws -> Digest {
        let work = "\(root)/tmp/import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try SmallFile.makeDirectories(work, mode: 0o700)
        defer { SmallFile.removeTree(work) }
        let layer = work + "/layer.tar"
        var layers = LayerFiles()
        if consuming, !Self.isCompressed(path), rename(path, layer) == 0 {
            layers.stored[layer] = try Self.hashFile(layer)
        } else {
            var hasher = DigestHasher()
            do {
                try Decompressor.decompress(path, to: layer) { hasher.update($0) }
            } catch {
                throw ImageStoreError.io("cannot import \(source ?? path): \(error)")
            }
            // Hashed while it was decompressed: not read again.
            var info = stat()
            if stat(layer, &info) == 0 { layers.stored[layer] = (hasher.finalize(), Int64(info.st_size), false) }
        }
        guard let diffID = layers.stored[layer]?.digest else { throw ImageStoreError.io("cannot import \(source ?? path): no layer") }
        let created = Self.now()
        let config = ImageConfig(architecture: Platform.current.architecture, config: runtime, rootfs: .init(diffIDs: [diffID]),
                                 history: [.init(created: created, createdBy: "", comment: message ?? "Imported from \(source ?? path)")],
                                 created: created)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configPath = work + "/config.json"
        try encoder.encode(config).write(to: URL(fileURLWithPath: configPath))
        let tags = try reference.map { [try ImageReference(parsing: $0).description] } ?? []
        return try importImage(configPath: configPath, layerPaths: [layer], tags: tags, layers: &layers)
    }

    /// RFC 3339 UTC, as image configs record times.
    static func now() -> String {
        Date().formatted(.iso8601)
    }
}
