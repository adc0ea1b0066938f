import BerthArchive
import BerthSystem
import CBerthSystem
import BerthTestSupport
import Foundation
import Glibc
import Testing

@Suite("Layer diff")
struct LayerDifferTests {
    @Test("an overlay upper dir becomes a layer with whiteouts that applies back to the same tree, byte-for-byte reproducibly")
    func roundTrip() throws {
        let dir = try TarFixture.scratch("diff")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upper = dir + "/upper"
        let fm = FileManager.default
        try fm.createDirectory(atPath: upper + "/etc/opaque", withIntermediateDirectories: true)
        try "hello".write(toFile: upper + "/etc/motd", atomically: false, encoding: .utf8)
        try "inside".write(toFile: upper + "/etc/opaque/kept", atomically: false, encoding: .utf8)
        #expect(link(upper + "/etc/motd", upper + "/etc/motd.link") == 0)
        try fm.createSymbolicLink(atPath: upper + "/etc/sym", withDestinationPath: "motd")
        #expect(mknod(upper + "/etc/deleted", S_IFCHR, 0) == 0)
        #expect(berth_lsetxattr(upper + "/etc/opaque", "trusted.overlay.opaque", "y", 1) == 0)
        chown(upper + "/etc/motd", 1000, 1000)

        let first = try LayerDiffer(compression: .gzip).write(directory: upper, to: dir + "/layer.tar.gz")
        #expect(first.entries >= 7)
        _ = try LayerDiffer(compression: .gzip).write(directory: upper, to: dir + "/again.tar.gz")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/layer.tar.gz")) == Data(contentsOf: URL(fileURLWithPath: dir + "/again.tar.gz")))

        let listing = try TarListing.names(dir + "/layer.tar.gz")
        #expect(listing.contains("etc/.wh.deleted"))
        #expect(listing.contains("etc/opaque/.wh..wh..opq"))
        #expect(!listing.contains("etc/deleted"))

        let back = dir + "/back"
        try fm.createDirectory(atPath: back, withIntermediateDirectories: true)
        _ = try LayerApplier(mode: .overlay).apply(layerPath: dir + "/layer.tar.gz", to: back)
        #expect(LayerApplierTests.tree(back) == LayerApplierTests.tree(upper))
        var st = stat(), linked = stat()
        #expect(lstat(back + "/etc/deleted", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0)
        #expect(LayerDifferTests.opaque(back + "/etc/opaque"))
        #expect(lstat(back + "/etc/motd", &st) == 0 && lstat(back + "/etc/motd.link", &linked) == 0 && st.st_ino == linked.st_ino)
        #expect(st.st_uid == 1000)
    }

    static func opaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        return berth_lgetxattr(path, "trusted.overlay.opaque", &value, 1) == 1 && value == UInt8(ascii: "y")
    }
}

/// Names in a tar, read with Python (independent of the code under test).
enum TarListing {
    static func names(_ path: String) throws -> [String] {
        Command.python("import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))", path)
            .split(separator: "\n").map(String.init)
    }
}
