@testable import BerthEngine
import BerthNetwork
import Foundation
import Testing

/// Network definitions in berth.db: one row each, names unique, files of older daemons moved in.
@Suite("network store")
struct NetworkStoreTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "berth-networks-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path + "/networks", withIntermediateDirectories: true)
        return path
    }

    @Test("definitions are saved, replaced by ID and removed; a second network of one name is refused by the database")
    func rows() throws {
        let root = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try NetworkStore(path: root + "/berth.db")
        var app = NetworkDefinition(id: "a1", name: "app", driver: "bridge", created: "2026-12-06T00:00:00Z", subnet: "10.1.0.0/24", gateway: "10.1.0.1", bridge: "br-a1")
        try store.save(app)
        app.labels = ["tier": "web"]
        try store.save(app)
        #expect(try store.all() == [app])
        #expect(throws: (any Error).self) { try store.save(NetworkDefinition(id: "b2", name: "app", driver: "bridge", created: "x")) }
        try store.remove("a1")
        #expect(try store.all().isEmpty)
        // A reopened store has what was written.
        try store.save(app)
        #expect(try NetworkStore(path: root + "/berth.db").all() == [app])
    }

    @Test("definitions an older daemon kept as files move into the database; unreadable files stay")
    func importsFiles() throws {
        let root = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = NetworkDefinition(id: "c3", name: "legacy", driver: "bridge", created: "2026-12-01T00:00:00Z", subnet: "10.2.0.0/24", gateway: "10.2.0.1", bridge: "br-c3")
        try JSONEncoder().encode(old).write(to: URL(fileURLWithPath: root + "/networks/c3.json"))
        try Data("{".utf8).write(to: URL(fileURLWithPath: root + "/networks/broken.json"))
        let store = try NetworkStore(path: root + "/berth.db")
        try store.importFiles(from: root + "/networks")
        #expect(try store.all() == [old])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/networks") == ["broken.json"])
        try store.importFiles(from: root + "/networks")
        #expect(try store.all() == [old])
    }
}
