import BerthOCI
import Foundation
import Testing

@Suite("Image spec and Docker schema2 models")
struct ImageSpecTests {
    static let d1 = "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0"
    static let d2 = "sha256:6f4e69a5ff18d92e7315e3ee31c62165ebf25bfa05cad05c0d09d8f412dae401"

    static let dockerList = """
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
     "manifests": [
       {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 7143, "digest": "\(d1)",
        "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
       {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 7682, "digest": "\(d2)",
        "platform": {"architecture": "amd64", "os": "linux", "os.features": ["sse4"]}}
     ]}
    """

    static let dockerManifest = """
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "\(d1)"},
     "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": "\(d2)"}]}
    """

    @Test("a Docker manifest list is an index; platform selection picks the host's entry")
    func manifestList() throws {
        guard case let .index(index) = try ManifestDocument.decode(Data(Self.dockerList.utf8), contentType: MediaType.dockerManifestList) else {
            Issue.record("expected an index")
            return
        }
        #expect(index.manifest(for: Platform(architecture: "amd64"))?.digest.description == Self.d2)
        #expect(index.manifest(for: Platform(architecture: "arm64"))?.digest.description == Self.d1)
        #expect(index.manifest(for: Platform(architecture: "s390x")) == nil)
        #expect(index.manifests[1].platform?.osFeatures == ["sse4"])
    }

    @Test("a schema2 manifest decodes with its layer compression")
    func schema2() throws {
        guard case let .manifest(m) = try ManifestDocument.decode(Data(Self.dockerManifest.utf8), contentType: nil) else {
            Issue.record("expected a manifest")
            return
        }
        #expect(m.layers.count == 1)
        #expect(MediaType.layerCompression(m.layers[0].mediaType) == .gzip)
        #expect(try SpecExamples.sameJSON(Data(Self.dockerManifest.utf8), JSONEncoder().encode(m)))
    }

    @Test("schema 1 is refused with advice; unknown media types and garbage are refused")
    func refused() {
        #expect {
            try ManifestDocument.decode(Data(#"{"schemaVersion": 1, "name": "x"}"#.utf8), contentType: MediaType.dockerSchema1Signed)
        } throws: { "\($0)".contains("schema 1") }
        #expect(throws: OCIError.self) { try ManifestDocument.decode(Data("{}".utf8), contentType: "text/html") }
        #expect(throws: OCIError.self) { try ManifestDocument.decode(Data("<html>".utf8), contentType: MediaType.ociManifest) }
        #expect(throws: OCIError.self) {
            try ManifestDocument.decode(Data(#"{"schemaVersion":2,"config":{"digest":"sha256:x"}}"#.utf8), contentType: MediaType.ociManifest)
        }
    }

    @Test("image config keeps Docker's capitalized keys and diff_ids")
    func config() throws {
        let json = """
        {"created": "2015-10-31T22:22:56.015925234Z", "author": "A", "architecture": "amd64", "os": "linux",
         "config": {"User": "alice", "ExposedPorts": {"8080/tcp": {}}, "Env": ["PATH=/bin"], "Entrypoint": ["/bin/my-app"],
                    "Cmd": ["--foreground"], "Volumes": {"/var/job-result-data": {}}, "WorkingDir": "/home/alice",
                    "Labels": {"a": "b"}, "StopSignal": "SIGTERM"},
         "rootfs": {"diff_ids": ["\(Self.d1)", "\(Self.d2)"], "type": "layers"},
         "history": [{"created": "2015-10-31T22:22:54.690851953Z", "created_by": "/bin/sh -c #(nop) ADD file", "empty_layer": true}]}
        """
        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(json.utf8))
        #expect(config.config?.exposedPorts?.keys.first == "8080/tcp")
        #expect(config.rootfs.diffIDs.count == 2)
        #expect(try SpecExamples.sameJSON(Data(json.utf8), JSONEncoder().encode(config)))
    }

    @Test("the image spec's own examples round-trip", .enabled(if: SpecExamples.available, SpecExamples.absentReason))
    func specExamples() throws {
        let manifests = try SpecExamples.requireBlocks("oci-image/manifest.md") { $0.contains("\"layers\"") && $0.contains("\"config\"") }
        for block in manifests {
            let m = try JSONDecoder().decode(ImageManifest.self, from: Data(block.utf8))
            #expect(try SpecExamples.sameJSON(Data(block.utf8), JSONEncoder().encode(m)))
        }
        for block in try SpecExamples.requireBlocks("oci-image/image-index.md", { $0.contains("\"manifests\"") }) {
            let index = try JSONDecoder().decode(ImageIndex.self, from: Data(block.utf8))
            #expect(try SpecExamples.sameJSON(Data(block.utf8), JSONEncoder().encode(index)))
        }
        for block in try SpecExamples.requireBlocks("oci-image/config.md", { $0.contains("\"rootfs\"") }) {
            let config = try JSONDecoder().decode(ImageConfig.self, from: Data(block.utf8))
            #expect(try SpecExamples.sameJSON(Data(block.utf8), JSONEncoder().encode(config)))
        }
    }
}
