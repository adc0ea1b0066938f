import BerthOCI
import Testing

@Suite("ImageReference")
struct ImageReferenceTests {
    static let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test("normalizes like Docker", arguments: [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("user/app:v2", "docker.io/user/app:v2", "user/app:v2"),
        ("index.docker.io/user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/a/b@\(digest)", "localhost:5000/a/b@\(digest)", "localhost:5000/a/b@\(digest)"),
        ("127.0.0.1:5000/busybox:t", "127.0.0.1:5000/busybox:t", "127.0.0.1:5000/busybox:t"),
        ("ghcr.io/o/r:tag@\(digest)", "ghcr.io/o/r:tag@\(digest)", "ghcr.io/o/r:tag@\(digest)"),
        ("Registry.Example/x", "Registry.Example/x:latest", "Registry.Example/x:latest"),
        ("a/b.c/d_e/f__g/h--i", "docker.io/a/b.c/d_e/f__g/h--i:latest", "a/b.c/d_e/f__g/h--i:latest"),
    ])
    func normalize(input: String, full: String, familiar: String) throws {
        let ref = try ImageReference(parsing: input)
        #expect(ref.description == full)
        #expect(ref.familiar == familiar)
    }

    @Test("splits registry, path, tag and digest")
    func parts() throws {
        let ref = try ImageReference(parsing: "localhost:5000/a/b:t@\(Self.digest)")
        #expect(ref.domain == "localhost:5000")
        #expect(ref.path == "a/b")
        #expect(ref.tag == "t")
        #expect(ref.digest?.description == Self.digest)
        #expect(try ImageReference(parsing: "busybox", defaultTag: false).tag == nil)
    }

    @Test("refuses malformed references with the reason", arguments: [
        ("", "must not be empty"),
        ("Busybox", "must be lowercase"),
        ("busybox:", "tag"),
        ("busybox:-bad", "tag"),
        ("bad//path", "path component"),
        ("trailing-/x", "path component"),
        ("busybox@sha256:123", "invalid digest"),
        ("host:port/x", "invalid registry host"),
        (":tag", "must not be empty"),
    ])
    func malformed(input: String, reason: String) {
        #expect {
            try ImageReference(parsing: input)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
