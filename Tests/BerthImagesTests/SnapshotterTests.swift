import BerthTestSupport
import BerthArchive
import BerthDigest
import BerthImages
import BerthOCI
import BerthSystem
import Foundation
import Glibc
import Testing

@Suite("Snapshotter")
struct SnapshotterTests {
    /// Layer 1 adds /etc/a and /etc/b; layer 2 deletes /etc/b and adds /bin/x.
    static func layer1(_ dir: String, _ mode: ApplyMode) throws -> Int64 {
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        try "a".write(toFile: dir + "/etc/a", atomically: false, encoding: .utf8)
        try "b".write(toFile: dir + "/etc/b", atomically: false, encoding: .utf8)
        return 2
    }

    static func layer2(_ dir: String, _ mode: ApplyMode) throws -> Int64 {
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        try "x".write(toFile: dir + "/bin/x", atomically: false, encoding: .utf8)
        switch mode {
        case .overlay: #expect(mknod(dir + "/etc/b", S_IFCHR, 0) == 0)
        case .flat: unlink(dir + "/etc/b")
        }
        return 1
    }

    static func tree(_ root: String) -> [String] {
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String { out.append(p) }
        return out.sorted()
    }

    @Test("layers are shared by chain ID, containers see their union and write to their own layer",
          arguments: [Snapshotter.Driver.overlay, .copy])
    func containers(driver: Snapshotter.Driver) throws {
        let dir = "/tmp/berth-snap-\(driver.rawValue)-\(UInt32.random(in: 0...UInt32.max))"
        let snapshots = try Snapshotter(root: dir, driver: driver)
        defer {
            snapshots.removeContainer("c1")
            snapshots.removeContainer("c2")
            try? FileManager.default.removeItem(atPath: dir)
        }
        let chain = ChainID.chain([Digest.sha256(of: Data("l1".utf8)), Digest.sha256(of: Data("l2".utf8))])
        #expect(try snapshots.createLayer(chain[0], parent: nil, apply: Self.layer1))
        #expect(try snapshots.createLayer(chain[1], parent: chain[0], apply: Self.layer2))
        // A second image with the same base: nothing is stored twice.
        #expect(try !snapshots.createLayer(chain[0], parent: nil, apply: Self.layer1))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/layers").count == 2)
        #expect(snapshots.layerSize(chain[0]) == 2)

        let root = try snapshots.mountContainer("c1", chain: chain)
        #expect(Self.tree(root) == ["bin", "bin/x", "etc", "etc/a"])
        try "new".write(toFile: root + "/etc/c", atomically: false, encoding: .utf8)
        #expect(unlink(root + "/etc/a") == 0)
        // Another container of the same image is untouched.
        let other = try snapshots.mountContainer("c2", chain: chain)
        #expect(Self.tree(other) == ["bin", "bin/x", "etc", "etc/a"])

        if driver == .overlay {
            // The container's changes diff into a layer: the added file and a whiteout.
            let changes = snapshots.containerChanges("c1")
            let tar = dir + "/commit.tar"
            _ = try LayerDiffer().write(directory: changes, to: tar)
            let back = dir + "/committed"
            try FileManager.default.createDirectory(atPath: back, withIntermediateDirectories: true)
            _ = try LayerApplier(mode: .overlay).apply(layerPath: tar, to: back)
            var st = stat()
            #expect(lstat(back + "/etc/a", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0)
            #expect((try? String(contentsOfFile: back + "/etc/c", encoding: .utf8)) == "new")
        }
        snapshots.removeContainer("c1")
        #expect(!TestEnvironment.mountTable().contains(dir + "/containers/c1"))
        snapshots.removeLayer(chain[1])
        #expect(!snapshots.hasLayer(chain[1]))
        #expect(snapshots.hasLayer(chain[0]))
    }
}
