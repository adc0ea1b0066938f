@testable import BerthEngine
import Foundation
import Testing

/// The container store: references resolve as dockerd resolves them, names follow renames and
/// removals, and loading keeps what it cannot read.
@Suite("container store")
struct ContainerStoreTests {
    static func record(_ id: String, _ name: String, root: String) -> ContainerRecord {
        ContainerRecord(id: id, name: name, created: "", path: "true", args: [], image: "sha256:00", config: ContainerConfig(),
                        hostConfig: HostConfig(), runtime: "berth-runtime", directory: root + "/" + id)
    }

    @Test("full IDs, names with or without a slash, unique prefixes; renames and removals update the names")
    func resolve() throws {
        let root = "/tmp/berth-store-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var store = try ContainerStore(root: root)
        store["abc123"] = Self.record("abc123", "web", root: root)
        store["abd456"] = Self.record("abd456", "db", root: root)
        #expect(try store.resolve("abc123") == "abc123" && store.resolve("web") == "abc123" && store.resolve("/db") == "abd456")
        #expect(try store.resolve("abc") == "abc123")
        #expect(throws: EngineError.self) { try store.resolve("ab") }
        #expect(throws: EngineError.self) { try store.resolve("nothing") }
        var renamed = try #require(store["abc123"])
        renamed.name = "front"
        store["abc123"] = renamed
        #expect(store.id(named: "web") == nil && store.id(named: "front") == "abc123")
        store.removeValue(forKey: "abd456")
        #expect(store.id(named: "db") == nil && store.values.count == 1)
    }

    @Test("loading: saved records come back, an unreadable one is kept aside, a directory without a record goes")
    func load() throws {
        let root = "/tmp/berth-store-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var store = try ContainerStore(root: root)
        try FileManager.default.createDirectory(atPath: root + "/aaa", withIntermediateDirectories: true)
        try store.insert(Self.record("aaa", "kept", root: root))
        #expect(throws: EngineError.self) { try store.save(Self.record("zzz", "never-inserted", root: root)) }
        BackgroundSync.shared.drain()
        try FileManager.default.createDirectory(atPath: root + "/bbb", withIntermediateDirectories: true)
        try "{not json".write(toFile: root + "/bbb/config.v2.json", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/ccc", withIntermediateDirectories: true)
        let loaded = try ContainerStore(root: root)
        #expect(loaded.id(named: "kept") == "aaa" && loaded.unreadable == ["bbb"])
        #expect(FileManager.default.fileExists(atPath: root + "/bbb") && !FileManager.default.fileExists(atPath: root + "/ccc"))
    }
}
