import BerthTestSupport
import BerthDigest
import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Glibc
import Testing

@Suite("Registry pull killed mid-way", .serialized)
struct KilledPullTests {
    static var benchBinary: String { TestEnvironment.binaries + "/berth-image-bench" }

    @Test("a pull killed with SIGKILL leaves no image and no bad blob; pulling again completes",
          .enabled(if: FileManager.default.isExecutableFile(atPath: KilledPullTests.benchBinary)))
    func killed() async throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let reference = try registry.pushBigImage()
        let root = registry.dir + "/store"

        // Start a pull, wait until it is downloading, kill it.
        let events = registry.dir + "/events.log"
        var pid: pid_t = 0
        do {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 1, events, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let words: [String] = [Self.benchBinary, reference, "--root", root, "--jobs", "1", "--verbose"]
            let args: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
            defer { args.forEach { free($0) } }
            try #require(posix_spawn(&pid, Self.benchBinary, &actions, nil, args, environ) == 0)
        }
        var sawDownload = false
        for _ in 0..<1000 where !sawDownload {
            sawDownload = ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").contains("downloading(")
            if !sawDownload { usleep(5_000) }
        }
        // pid 0 would signal this whole process group.
        try #require(pid > 0)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(sawDownload)

        // What is on disk now is consistent: no image, every visible blob verified.
        let store = try ImageStore(root: root)
        #expect(try store.list().isEmpty)
        for blob in store.content.list() {
            var hasher = DigestHasher()
            hasher.update(try store.content.read(blob))
            #expect(hasher.finalize() == blob)
        }
        // And the pull finishes when run again.
        let client = RegistryClient(configuration: RegistryConfiguration())
        let image = try await ImagePuller(client: client, store: store).pull(try ImageReference(parsing: reference))
        #expect(image.chain.count == 3)
        #expect(FileManager.default.fileExists(atPath: store.snapshots.layerPath(image.chain[2]) + "/data2.bin"))
        try await client.shutdown()
    }
}
