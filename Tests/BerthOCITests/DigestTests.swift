import BerthDigest
import BerthOCI
import Foundation
import Testing

@Suite("Digest")
struct DigestTests {
    static let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test("parses, prints and hashes")
    func parse() throws {
        let d = try Digest(parsing: Self.empty)
        #expect(d.algorithm == .sha256)
        #expect(d.description == Self.empty)
        #expect(Digest.sha256(of: Data()) == d)
        try d.verify(Data())
        #expect(throws: OCIError.self) { try d.verify(Data("x".utf8)) }
    }

    @Test("incremental hashing matches one-shot hashing")
    func incremental() {
        var hasher = DigestHasher()
        hasher.update(Data("hello ".utf8))
        hasher.update(Data("world".utf8))
        #expect(hasher.finalize() == Digest.sha256(of: Data("hello world".utf8)))
    }

    @Test("malformed digests are refused with the reason", arguments: [
        ("sha256", "expected <algorithm>:<hex>"),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported algorithm"),
        ("sha256:abc", "64 hex characters"),
        ("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "lowercase"),
    ])
    func malformed(input: String, reason: String) {
        #expect {
            try Digest(parsing: input)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains(input)
        }
    }

    @Test("round-trips through JSON as a string")
    func json() throws {
        let d = try Digest(parsing: Self.empty)
        let data = try JSONEncoder().encode([d])
        #expect(String(decoding: data, as: UTF8.self) == "[\"\(Self.empty)\"]")
        #expect(try JSONDecoder().decode([Digest].self, from: data) == [d])
        #expect(throws: (any Error).self) { try JSONDecoder().decode([Digest].self, from: Data(#"["sha256:zz"]"#.utf8)) }
    }
}
