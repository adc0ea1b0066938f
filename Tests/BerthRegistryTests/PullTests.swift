import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Testing

/// Collects pull events from concurrent downloads.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [PullEvent] = []
    func add(_ event: PullEvent) { lock.lock(); events.append(event); lock.unlock() }
    var all: [PullEvent] { lock.lock(); defer { lock.unlock() }; return events }
}

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
        let log = EventLog()
        let image = try await puller.pull(reference) { log.add($0) }
        #expect(image.id == (try Self.expectedImageID()))
        #expect(image.tags == [reference.description])
        #expect(FileManager.default.fileExists(atPath: store.snapshots.layerPath(image.chain[0]) + "/bin/busybox"))
        #expect(log.all.contains { if case .downloading = $0 { return true }; return false })
        #expect(log.all.contains { if case .pullComplete = $0 { return true }; return false })
        #expect(log.all.contains { if case .digest = $0 { return true }; return false })

        let again = EventLog()
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
        let log = EventLog()
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
