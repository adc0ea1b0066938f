import BerthImages
import BerthOCI
import BerthRegistry
import BerthTestSupport
import Foundation
import Testing

@Suite("Registry pull", .serialized)
struct PullTests {
    static func store() throws -> (ImageStore, String) {
        let dir = "/tmp/berth-pull-\(UInt32.random(in: 0...UInt32.max))"
        return (try ImageStore(root: dir), dir)
    }

    /// The busybox image's config digest, from the OCI layout the registry was filled from.
    static func expectedImageID() throws -> Digest {
        let layout = LoopbackRegistry.packageRoot + "/.testdata/busybox-oci"
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json")))
        let manifestPath = layout + "/blobs/sha256/" + index.manifests[0].digest.encoded
        return try JSONDecoder().decode(ImageManifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath))).config.digest
    }

    @Test("pull from a loopback registry: layers downloaded, unpacked, tagged; a second pull finds them present")
    func pull() async throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let (store, dir) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = RegistryClient(configuration: RegistryConfiguration())
        let puller = ImagePuller(client: client, store: store)
        let reference = try ImageReference(parsing: "\(registry.host)/library/busybox:latest")
        let log = Recorder<PullEvent>()
        let image = try await puller.pull(reference) { log.add($0) }
        #expect(image.id == (try Self.expectedImageID()))
        #expect(image.tags == [reference.description])
        #expect(FileManager.default.fileExists(atPath: store.snapshots.layerPath(image.chain[0]) + "/bin/busybox"))
        #expect(log.all.contains { if case .downloading = $0 { return true }; return false })
        #expect(log.all.contains { if case .pullComplete = $0 { return true }; return false })
        #expect(log.all.contains { if case .digest = $0 { return true }; return false })

        let again = Recorder<PullEvent>()
        _ = try await puller.pull(reference) { again.add($0) }
        #expect(again.all.contains { if case .alreadyExists = $0 { return true }; return false })
        #expect(!again.all.contains { if case .downloading = $0 { return true }; return false })

        // Unknown tags and repositories fail with the image named; the store is unchanged.
        let missing = try ImageReference(parsing: "\(registry.host)/library/busybox:nope")
        await #expect { try await puller.pull(missing) } throws: { "\($0)".contains("busybox:nope") }
        #expect(try store.list().count == 1)
        try await client.shutdown()
    }

    @Test("an interrupted layer download resumes from where it stopped")
    func resume() async throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let (store, dir) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Leave half of the layer in the ingest area, as a killed pull would.
        let layout = LoopbackRegistry.packageRoot + "/.testdata/busybox-oci"
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json")))
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(contentsOf: URL(fileURLWithPath: layout + "/blobs/sha256/" + index.manifests[0].digest.encoded)))
        let layer = manifest.layers[0]
        let bytes = try Data(contentsOf: URL(fileURLWithPath: layout + "/blobs/sha256/" + layer.digest.encoded))
        let half = Int64(bytes.count / 2)
        do {
            let partial = try store.content.ingest(layer.digest, size: layer.size)
            try partial.append(bytes.prefix(Int(half)))
            partial.close()
        }
        let client = RegistryClient(configuration: RegistryConfiguration())
        let log = Recorder<PullEvent>()
        _ = try await ImagePuller(client: client, store: store).pull(try ImageReference(parsing: "\(registry.host)/library/busybox:latest")) { log.add($0) }
        let progress = log.all.compactMap { event -> Int64? in if case let .downloading(_, current, _) = event { return current }; return nil }
        #expect((progress.first ?? 0) > half)
        #expect(store.content.contains(layer.digest))
        try await client.shutdown()
    }

    @Test("a registry with basic auth refuses anonymous pulls and accepts configured credentials")
    func basicAuth() async throws {
        let registry = try LoopbackRegistry(htpasswd: "berth:s3cret")
        defer { registry.stop() }
        let (store, dir) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try ImageReference(parsing: "\(registry.host)/library/busybox:latest")
        let anonymous = RegistryClient(configuration: RegistryConfiguration())
        await #expect { try await ImagePuller(client: anonymous, store: store).pull(reference) } throws: { error in
            guard let error = error as? RegistryError, case .unauthorized = error else { return false }
            return true
        }
        try await anonymous.shutdown()
        let config = #"{"auths": {"\#(registry.host)": {"auth": "\#(Data("berth:s3cret".utf8).base64EncodedString())"}}}"#
        var configuration = RegistryConfiguration()
        configuration.credentials = RegistryCredentials.fromDockerConfig(Data(config.utf8))
        let client = RegistryClient(configuration: configuration)
        let image = try await ImagePuller(client: client, store: store).pull(reference)
        #expect(image.id == (try Self.expectedImageID()))
        try await client.shutdown()
    }
}

@Suite("Registry pull: media types and platforms", .serialized)
struct PullFormatsTests {
    static func run(_ argv: [String]) throws {
        let log = "/tmp/berth-skopeo-\(getpid()).log"
        defer { unlink(log) }
        guard Command.run(argv, output: log) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""])
        }
    }

    /// An OCI layout whose index holds a nested index: the busybox image for amd64 and a second
    /// manifest claiming arm64 (its config differs, its layer is the same).
    static func multiPlatformLayout(_ dir: String) throws -> (amd64Config: Digest, arm64Config: Digest) {
        let source = LoopbackRegistry.packageRoot + "/.testdata/busybox-oci"
        try FileManager.default.copyItem(atPath: source, toPath: dir)
        func blob(_ digest: Digest) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(dir)/blobs/sha256/\(digest.encoded)")) }
        func put(_ data: Data) throws -> Digest {
            let digest = Digest.sha256(of: data)
            try data.write(to: URL(fileURLWithPath: "\(dir)/blobs/sha256/\(digest.encoded)"))
            return digest
        }
        let top = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/index.json")))
        let amd64Manifest = try JSONDecoder().decode(ImageManifest.self, from: try blob(top.manifests[0].digest))
        var armConfig = try JSONSerialization.jsonObject(with: try blob(amd64Manifest.config.digest)) as! [String: Any]
        armConfig["architecture"] = "arm64"
        armConfig["variant"] = "v8"
        let armConfigData = try JSONSerialization.data(withJSONObject: armConfig, options: [.sortedKeys])
        let armConfigDigest = try put(armConfigData)
        var armManifest = amd64Manifest
        armManifest.config = Descriptor(mediaType: MediaType.ociConfig, digest: armConfigDigest, size: Int64(armConfigData.count))
        let armManifestData = try JSONEncoder().encode(armManifest)
        let armManifestDigest = try put(armManifestData)
        let nested = ImageIndex(manifests: [
            Descriptor(mediaType: MediaType.ociManifest, digest: armManifestDigest, size: Int64(armManifestData.count),
                       platform: Platform(architecture: "arm64", variant: "v8")),
            Descriptor(mediaType: MediaType.ociManifest, digest: top.manifests[0].digest, size: top.manifests[0].size,
                       platform: Platform(architecture: "amd64")),
        ])
        let nestedData = try JSONEncoder().encode(nested)
        let nestedDigest = try put(nestedData)
        let outer = ImageIndex(manifests: [Descriptor(mediaType: MediaType.ociIndex, digest: nestedDigest, size: Int64(nestedData.count),
                                                      annotations: ["org.opencontainers.image.ref.name": "multi"])])
        try JSONEncoder().encode(outer).write(to: URL(fileURLWithPath: dir + "/index.json"))
        return (amd64Manifest.config.digest, armConfigDigest)
    }

    @Test("a multi-platform index yields the host's platform; Docker schema2 images pull too")
    func platformsAndDockerTypes() async throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let layout = registry.dir + "/multi-layout"
        let configs = try Self.multiPlatformLayout(layout)
        try Self.run(["/usr/bin/skopeo", "copy", "-q", "--all", "--dest-tls-verify=false", "oci:\(layout):multi",
                      "docker://\(registry.host)/library/multi:latest"])
        try Self.run(["/usr/bin/skopeo", "copy", "-q", "--format", "v2s2", "--dest-tls-verify=false",
                      "oci:\(LoopbackRegistry.packageRoot)/.testdata/busybox-oci:latest", "docker://\(registry.host)/library/schema2:latest"])
        let client = RegistryClient(configuration: RegistryConfiguration())
        let (store, dir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let amd = try await ImagePuller(client: client, store: store, platform: Platform(architecture: "amd64"))
            .pull(try ImageReference(parsing: "\(registry.host)/library/multi:latest"))
        #expect(amd.id == configs.amd64Config)
        let arm = try await ImagePuller(client: client, store: store, platform: Platform(architecture: "arm64", variant: "v8"))
            .pull(try ImageReference(parsing: "\(registry.host)/library/multi:latest"))
        #expect(arm.id == configs.arm64Config)
        await #expect { try await ImagePuller(client: client, store: store, platform: Platform(architecture: "s390x"))
            .pull(try ImageReference(parsing: "\(registry.host)/library/multi:latest")) } throws: { "\($0)".contains("linux/s390x") }

        let (fresh, freshDir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: freshDir) }
        let docker = try await ImagePuller(client: client, store: fresh).pull(try ImageReference(parsing: "\(registry.host)/library/schema2:latest"))
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: try fresh.content.read(docker.manifestDigest!))
        #expect(manifest.mediaType == MediaType.dockerManifest)
        #expect(manifest.layers.first?.mediaType == MediaType.dockerLayerGzip)
        #expect(FileManager.default.fileExists(atPath: fresh.snapshots.layerPath(docker.chain[0]) + "/bin/busybox"))
        try await client.shutdown()
    }
}
