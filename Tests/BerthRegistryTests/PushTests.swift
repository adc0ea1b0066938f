import BerthImages
import BerthOCI
import BerthRegistry
import BerthTestSupport
import Foundation
import Testing

@Suite("Registry push", .serialized)
struct PushTests {
    @Test("push then pull round-trips to identical digests; a second push finds every blob present; chunked uploads work")
    func pushPull() async throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let (source, sourceDir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: sourceDir) }
        let archive = LoopbackRegistry.packageRoot + "/.testdata/busybox.tar"
        let loaded = try source.load(archive: archive)[0].id
        let client = RegistryClient(configuration: RegistryConfiguration())
        let target = try ImageReference(parsing: "\(registry.host)/berth/pushed:v1")
        let log = Recorder<PushEvent>()
        let pushed = try await ImagePusher(client: client, store: source).push("busybox", as: target) { log.add($0) }
        #expect(log.all.contains { if case .pushed = $0 { return true }; return false })
        #expect(log.all.last == .digest(tag: "v1", digest: pushed, size: try source.content.read(pushed).count))

        let (fresh, freshDir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: freshDir) }
        let pullLog = Recorder<PullEvent>()
        let image = try await ImagePuller(client: client, store: fresh).pull(target) { pullLog.add($0) }
        #expect(image.id == loaded)
        #expect(image.manifestDigest == pushed)
        #expect(pullLog.all.last == .digest(pushed))

        let again = Recorder<PushEvent>()
        _ = try await ImagePusher(client: client, store: source).push("busybox", as: target) { again.add($0) }
        #expect(!again.all.contains { if case .pushed = $0 { return true }; return false })
        #expect(again.all.filter { if case .alreadyExists = $0 { return true }; return false }.count == 2)

        var chunked = ImagePusher(client: client, store: source)
        chunked.chunkSize = 64 << 10
        let chunkLog = Recorder<PushEvent>()
        let other = try ImageReference(parsing: "\(registry.host)/berth/chunked:v2")
        #expect(try await chunked.push(loaded.description, as: other) { chunkLog.add($0) } == pushed)
        let steps = chunkLog.all.filter { if case .pushing = $0 { return true }; return false }.count
        #expect(steps > 2)

        // A third repository on the same registry: blobs are mounted from one that has them.
        try source.tag("busybox", as: target.description)
        let mountLog = Recorder<PushEvent>()
        let third = try ImageReference(parsing: "\(registry.host)/other/copy:v3")
        #expect(try await ImagePusher(client: client, store: source).push(target.description, as: third) { mountLog.add($0) } == pushed)
        #expect(mountLog.all.filter { if case .mounted(_, "berth/pushed") = $0 { return true }; return false }.count == 2)
        #expect(!mountLog.all.contains { if case .pushing = $0 { return true }; return false })
        try await client.shutdown()
    }
}
