import BerthDigest
import BerthImages
import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite("Content store")
struct ContentStoreTests {
    static func scratch(_ name: String) throws -> String {
        let dir = "/tmp/berth-images-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a blob is visible only once verified; a wrong digest leaves nothing behind")
    func verifiedWrite() throws {
        let dir = try Self.scratch("verify")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ContentStore(root: dir)
        let data = Data("{\"schemaVersion\":2}".utf8)
        let digest = try store.write(data)
        #expect(digest == Digest.sha256(of: data))
        #expect(try store.read(digest) == data)
        #expect(store.list() == [digest])
        let wrong = Digest.sha256(of: Data("other".utf8))
        #expect(throws: ImageStoreError.digestMismatch(expected: wrong, actual: Digest.sha256(of: Data("x".utf8)))) {
            try store.write(Data("x".utf8), expected: wrong)
        }
        #expect(!store.contains(wrong))
        #expect(store.list() == [digest])
    }

    @Test("an interrupted ingest resumes where it stopped; a bad size or digest is refused")
    func resume() throws {
        let dir = try Self.scratch("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ContentStore(root: dir)
        let blob = Data((0..<300_000).map { UInt8($0 % 251) })
        let digest = Digest.sha256(of: blob)
        do {
            let first = try store.ingest(digest, size: Int64(blob.count))
            try first.append(blob.prefix(120_000))
            first.close()  // the process was killed here
        }
        #expect(!store.contains(digest))
        let second = try store.ingest(digest, size: Int64(blob.count))
        #expect(second.offset == 120_000)
        // Only one writer per digest at a time.
        #expect(throws: ImageStoreError.ingestBusy(digest)) { try store.ingest(digest, size: nil) }
        try second.append(blob.suffix(from: 120_000))
        try second.commit()
        #expect(try store.read(digest) == blob)

        let short = Data("short".utf8)
        let shortDigest = Digest.sha256(of: short)
        let sized = try store.ingest(shortDigest, size: 99)
        try sized.append(short)
        #expect(throws: ImageStoreError.sizeMismatch(shortDigest, expected: 99, actual: 5)) { try sized.commit() }
        #expect(!store.contains(shortDigest))
        let lying = try store.ingest(digest == shortDigest ? digest : Digest.sha256(of: Data("claimed".utf8)), size: nil)
        try lying.append(Data("actual".utf8))
        #expect(throws: ImageStoreError.self) { try lying.commit() }
        #expect(store.list() == [digest])
    }

    @Test("chain IDs follow the image spec's definition")
    func chainIDs() throws {
        let a = Digest.sha256(of: Data("a".utf8)), b = Digest.sha256(of: Data("b".utf8))
        let chain = ChainID.chain([a, b])
        #expect(chain[0] == a)
        #expect(chain[1] == Digest.sha256(of: Data("\(a) \(b)".utf8)))
        // Independent check with Python's hashlib.
        let expected = Command.python("import hashlib,sys; print('sha256:' + hashlib.sha256((sys.argv[1] + ' ' + sys.argv[2]).encode()).hexdigest())",
                                      a.description, b.description)
        #expect(chain[1].description == expected)
    }
}
