import BerthArchive
import BerthDigest
import BerthImages
import BerthOCI
import BerthTestSupport
import Foundation
import Glibc
import Testing

@Suite("Image store")
struct ImageStoreTests {
    static var packageRoot: String { TestEnvironment.packageRoot }

    /// The busybox `docker save` archive from scripts/build-test-images.sh.
    static var busyboxArchive: String { TestEnvironment.testData + "/busybox.tar" }

    static func configDigest(ofArchive path: String) throws -> Digest {
        // The archive's own manifest.json names the config blob: its digest is the image ID.
        try Digest(parsing: "sha256:" + Command.python(
            "import json,sys,tarfile; t=tarfile.open(sys.argv[1]); print(json.load(t.extractfile('manifest.json'))[0]['Config'].split('/')[-1])", path))
    }

    static func store(_ name: String) throws -> (ImageStore, String) {
        let dir = "/tmp/berth-imgstore-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        return (try ImageStore(root: dir), dir)
    }

    static func cleanup(_ dir: String) {
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test("load of a docker save archive, then save → load round-trip keeps the image ID")
    func loadSaveLoad() throws {
        let (store, dir) = try Self.store("roundtrip")
        defer { Self.cleanup(dir) }
        let expectedID = try Self.configDigest(ofArchive: Self.busyboxArchive)
        let loaded = try store.load(archive: Self.busyboxArchive)
        #expect(loaded.map(\.id) == [expectedID])
        #expect(loaded.first?.tags == ["docker.io/library/busybox:latest"])
        let image = try store.resolve("busybox")
        #expect(image.id == expectedID)
        #expect(try store.resolve(String(expectedID.encoded.prefix(12))).id == expectedID)
        #expect(try store.resolve(expectedID.description).tags == ["docker.io/library/busybox:latest"])
        #expect(throws: ImageStoreError.self) { try store.resolve("0000" + String(expectedID.encoded.prefix(8))) }
        #expect(FileManager.default.fileExists(atPath: store.snapshots.layerPath(image.chain[0]) + "/bin/busybox"))
        #expect(try store.config(image).config?.cmd == ["sh"])
        let history = try store.history(image)
        #expect(history.count == 1)
        #expect(history[0].id == expectedID.description && history[0].tags == ["docker.io/library/busybox:latest"])
        #expect(history[0].createdBy.contains("busybox-static"))
        #expect(history[0].size > 1_000_000)  // the static busybox binary alone is over 1 MB

        let saved = dir + "/saved.tar"
        try store.save(["busybox"], to: saved)
        let (fresh, freshDir) = try Self.store("roundtrip2")
        defer { Self.cleanup(freshDir) }
        #expect(try fresh.load(archive: saved).map(\.id) == [expectedID])
        #expect(try fresh.resolve("busybox:latest").id == expectedID)
        // Saving the same image again gives the same bytes.
        try store.save(["busybox"], to: dir + "/again.tar")
        #expect(try Data(contentsOf: URL(fileURLWithPath: saved)) == Data(contentsOf: URL(fileURLWithPath: dir + "/again.tar")))

        // Two images sharing a layer in one archive: the shared layer file is stored once and
        // both images load (a load moves layer files into the store rather than copying them).
        let extra = dir + "/extra"
        try FileManager.default.createDirectory(atPath: extra, withIntermediateDirectories: true)
        try "added\n".write(toFile: extra + "/added.txt", atomically: true, encoding: .utf8)
        _ = try LayerDiffer().write(directory: extra, to: dir + "/extra.tar")
        let child = try store.commit(base: image, layerTar: dir + "/extra.tar",
                                     options: .init(config: nil, comment: nil, author: nil, createdBy: "test", reference: "child:1"))
        try store.save(["busybox", "child:1"], to: dir + "/both.tar")
        let (third, thirdDir) = try Self.store("roundtrip3")
        defer { Self.cleanup(thirdDir) }
        #expect(try third.load(archive: dir + "/both.tar").map(\.id) == [expectedID, child])
        let loadedChild = try third.resolve("child:1")
        #expect(FileManager.default.fileExists(atPath: third.snapshots.layerPath(loadedChild.chain[1]) + "/added.txt"))
        #expect(third.content.list().count == store.content.list().count)
    }

    @Test("an OCI layout with a gzip layer loads to the same image as the docker archive")
    func ociLayout() throws {
        let (store, dir) = try Self.store("oci")
        defer { Self.cleanup(dir) }
        _ = Self.busyboxArchive
        let layout = Self.packageRoot + "/.testdata/busybox-oci"
        let tarPath = dir + "/layout.tar"
        let tar = try TarWriter(path: tarPath)
        let enumerator = FileManager.default.enumerator(atPath: layout)
        var files: [String] = []
        while let p = enumerator?.nextObject() as? String { files.append(p) }
        for file in files.sorted() {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: layout + "/" + file, isDirectory: &isDir)
            if isDir.boolValue { try tar.addDirectory(file) } else { try tar.addFile(file, contentsOf: layout + "/" + file) }
        }
        try tar.close()
        let loaded = try store.load(archive: tarPath)
        #expect(loaded.map(\.id) == [try Self.configDigest(ofArchive: Self.busyboxArchive)])
        let image = try store.resolve("busybox")
        #expect(FileManager.default.fileExists(atPath: store.snapshots.layerPath(image.chain[0]) + "/bin/sh"))
    }

    @Test("tag, rmi and prune: tags go first, the image and its layers and blobs when nothing names it")
    func tagRemovePrune() throws {
        let (store, dir) = try Self.store("rmi")
        defer { Self.cleanup(dir) }
        let id = try store.load(archive: Self.busyboxArchive)[0].id
        try store.tag("busybox", as: "127.0.0.1:5000/mine:1")
        #expect(try store.remove("busybox", force: false) == [.untagged("busybox:latest")])
        #expect(try store.resolve("127.0.0.1:5000/mine:1").id == id)
        #expect(try store.prune(all: false).isEmpty)
        #expect(throws: ImageStoreError.self) { try store.remove("127.0.0.1:5000/mine:1", force: false, usedBy: [id: "c0ffee"]) }
        let image = try store.resolve(id.description)
        let removals = try store.remove("127.0.0.1:5000/mine:1", force: false)
        #expect(removals == [.untagged("127.0.0.1:5000/mine:1"), .deleted(id)])
        #expect(try store.list().isEmpty)
        #expect(!store.snapshots.hasLayer(image.chain[0]))
        #expect(store.content.list().isEmpty)

        // Prune removes exactly the dangling images.
        _ = try store.load(archive: Self.busyboxArchive)
        try store.tag("busybox", as: "keep:me")
        _ = try store.remove("busybox", force: false)
        #expect(try store.prune(all: false).isEmpty)
        _ = try store.remove("keep:me", force: false)
        _ = try store.load(archive: Self.busyboxArchive)
        #expect(try store.metadata.untag(try ImageReference(parsing: "busybox").description) == id)
        #expect(try store.list(danglingOnly: true).map(\.id) == [id])
        #expect(try store.prune(all: false).map(\.id) == [id])
        #expect(try store.list().isEmpty)
    }

    @Test("import makes a gzip rootfs tar a one-layer image whose diff ID is the uncompressed tar's digest")
    func importRootfs() throws {
        let (store, dir) = try Self.store("import")
        defer { Self.cleanup(dir) }
        _ = Self.busyboxArchive
        let tarball = dir + "/rootfs.tar.gz"
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/bin/tar")
        make.arguments = ["-czf", tarball, "-C", Self.packageRoot + "/.testdata/busybox/rootfs", "."]
        try make.run()
        make.waitUntilExit()
        var runtime = ImageConfig.Config(cmd: ["sh"])
        runtime.env = ["PATH=/bin"]
        let id = try store.importRootfs(tarball, reference: "imported:v1", config: runtime, message: "from a test")
        let image = try store.resolve("imported:v1")
        #expect(image.id == id)
        #expect(FileManager.default.fileExists(atPath: store.snapshots.layerPath(image.chain[0]) + "/bin/busybox"))
        let config = try store.config(image)
        #expect(config.config?.cmd == ["sh"])
        #expect(config.history?.first?.comment == "from a test")
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        unzip.arguments = ["-c", "gzip -dc \(tarball) | sha256sum | cut -d' ' -f1"]
        let pipe = Pipe()
        unzip.standardOutput = pipe
        try unzip.run()
        unzip.waitUntilExit()
        let hex = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(config.rootfs.diffIDs.map(\.encoded) == [hex])
    }

    @Test("garbage and truncated archives are refused with the cause, leaving no image behind")
    func badArchives() throws {
        let (store, dir) = try Self.store("bad")
        defer { Self.cleanup(dir) }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/junk.tar"))
        #expect { try store.load(archive: dir + "/junk.tar") } throws: { "\($0)".contains("junk.tar") }
        let full = try Data(contentsOf: URL(fileURLWithPath: Self.busyboxArchive))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: dir + "/half.tar"))
        #expect(throws: ImageStoreError.self) { try store.load(archive: dir + "/half.tar") }
        #expect(try store.list().isEmpty)
    }
}

@Suite("Image store after a crash")
struct ImageStoreCrashTests {
    @Test("a store reopened after a kill mid-pull has no half image, drops staging leftovers, and resumes the download")
    func reopenAfterKill() throws {
        let dir = "/tmp/berth-imgcrash-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let layerBytes = Data((0..<200_000).map { UInt8($0 % 7) })
        let digest = Digest.sha256(of: layerBytes)
        do {
            let store = try ImageStore(root: dir)
            // The state a SIGKILL during a pull leaves: a partial blob and a layer being extracted.
            let ingest = try store.content.ingest(digest, size: Int64(layerBytes.count))
            try ingest.append(layerBytes.prefix(50_000))
            ingest.close()
            try FileManager.default.createDirectory(atPath: dir + "/snapshots/tmp/abc-1-2/diff/etc", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/tmp/load-1-2/blobs", withIntermediateDirectories: true)
        }
        let reopened = try ImageStore(root: dir)
        #expect(try reopened.list().isEmpty)
        #expect(!reopened.content.contains(digest))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/snapshots/tmp").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").isEmpty)
        let resumed = try reopened.content.ingest(digest, size: Int64(layerBytes.count))
        #expect(resumed.offset == 50_000)
        try resumed.append(layerBytes.suffix(from: 50_000))
        try resumed.commit()
        #expect(try reopened.content.read(digest) == layerBytes)
    }
}
