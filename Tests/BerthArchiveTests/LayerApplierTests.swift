import BerthArchive
import BerthSystem
import CBerthSystem
import Foundation
import Glibc
import Testing

@Suite("Layer apply")
struct LayerApplierTests {
    typealias E = TarFixture.Entry

    @Test("entries that would leave the target are refused and nothing lands outside", arguments: [
        [E(name: "../evil")],
        [E(name: "a/../../evil")],
        [E(name: "/abs-evil")],
        [E(name: "h", type: "hardlink", linkname: "../../etc/passwd")],
    ])
    func escapes(entries: [E]) throws {
        let dir = try TarFixture.scratch("escape")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/root/layer"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try TarFixture.write(entries, to: dir + "/layer.tar")
        #expect(throws: ArchiveError.self) {
            try LayerApplier(mode: .overlay).apply(layerPath: dir + "/layer.tar", to: target)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/root/evil"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/evil"))
        #expect(!FileManager.default.fileExists(atPath: "/abs-evil"))
    }

    @Test("a symlink in the layer cannot redirect a later entry to the host")
    func symlinkEscape() throws {
        let dir = try TarFixture.scratch("symlink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let host = dir + "/host"
        let target = dir + "/layer"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try TarFixture.write([E(name: "link", type: "symlink", linkname: host), E(name: "link/pwned", data: "x")], to: dir + "/l.tar")
        #expect(throws: ArchiveError.self) { try LayerApplier(mode: .flat).apply(layerPath: dir + "/l.tar", to: target) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: host).isEmpty)
    }

    @Test("a hard link cannot reach a host file through a symlink planted by the layer")
    func hardlinkThroughSymlink() throws {
        let dir = try TarFixture.scratch("hardlink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let host = dir + "/host"
        let target = dir + "/layer"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try "secret".write(toFile: host + "/secret", atomically: false, encoding: .utf8)
        try TarFixture.write([E(name: "evil", type: "symlink", linkname: host),
                              E(name: "x", type: "hardlink", linkname: "evil/secret")], to: dir + "/l.tar")
        #expect(throws: ArchiveError.self) { try LayerApplier(mode: .overlay).apply(layerPath: dir + "/l.tar", to: target) }
        #expect(!FileManager.default.fileExists(atPath: target + "/x"))
        var st = stat()
        #expect(stat(host + "/secret", &st) == 0 && st.st_nlink == 1)
    }

    @Test("owners, modes, times, xattrs, symlinks, hard links and device nodes survive", arguments: ["none", "gzip", "zstd"])
    func metadata(compression: String) throws {
        let dir = try TarFixture.scratch("meta")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/layer"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try TarFixture.write([
            E(name: "bin", type: "dir", mode: 0o755),
            E(name: "bin/tool", data: "#!/bin/sh\n", mode: 0o4755, uid: 1000, gid: 1001, xattrs: ["user.berth": "yes"]),
            E(name: "bin/alias", type: "hardlink", linkname: "bin/tool"),
            E(name: "bin/sym", type: "symlink", linkname: "tool"),
            E(name: "private", type: "dir", mode: 0o700, uid: 7),
            E(name: "null", type: "chr", mode: 0o666, major: 1, minor: 3),
            E(name: "sneaky", xattrs: ["trusted.overlay.redirect": "/etc"]),
        ], to: dir + "/l.tar", compression: compression)
        let result = try LayerApplier(mode: .overlay).apply(layerPath: dir + "/l.tar", to: target)
        #expect(result.entries == 7)
        var st = stat()
        #expect(lstat(target + "/bin/tool", &st) == 0)
        #expect(st.st_uid == 1000 && st.st_gid == 1001)
        #expect(st.st_mode & 0o7777 == 0o4755)
        #expect(st.st_mtim.tv_sec == 1_600_000_000)
        #expect(st.st_nlink == 2)
        var alias = stat()
        #expect(lstat(target + "/bin/alias", &alias) == 0 && alias.st_ino == st.st_ino)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/bin/sym") == "tool")
        var value = [UInt8](repeating: 0, count: 8)
        #expect(berth_lgetxattr(target + "/bin/tool", "user.berth", &value, value.count) == 3)
        #expect(lstat(target + "/private", &st) == 0 && st.st_mode & 0o777 == 0o700 && st.st_uid == 7)
        #expect(lstat(target + "/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == berth_makedev(1, 3))
        // overlayfs's own xattrs are never taken from a layer.
        #expect(berth_lgetxattr(target + "/sneaky", "trusted.overlay.redirect", &value, value.count) < 0)
    }

    /// Three layers: delete a file, make a directory opaque, delete a directory, re-add files.
    static let layers: [[E]] = [
        [E(name: "a", type: "dir"), E(name: "a/f1", data: "1"), E(name: "a/f2", data: "2"), E(name: "b", type: "dir"),
         E(name: "b/x", data: "x"), E(name: "c", data: "c"), E(name: "d", type: "dir"), E(name: "d/old", data: "o")],
        [E(name: ".wh.c"), E(name: "a/.wh.f1"), E(name: "d/.wh..wh..opq"), E(name: "d/new", data: "n"), E(name: "b/y", data: "y")],
        [E(name: "a/f3", data: "3"), E(name: ".wh.b")],
    ]

    static func tree(_ root: String) -> [String] {
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String { out.append(p) }
        return out.sorted()
    }

    static let expected = ["a", "a/f2", "a/f3", "d", "d/new"]

    @Test("whiteouts across three layers: overlay markers that overlayfs merges, and flat deletes")
    func whiteouts() throws {
        let dir = try TarFixture.scratch("whiteouts")
        defer {
            umount2(dir + "/merged", Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: dir)
        }
        for (i, layer) in Self.layers.enumerated() {
            try TarFixture.write(layer, to: dir + "/l\(i).tar")
            let lower = dir + "/lower\(i)"
            try FileManager.default.createDirectory(atPath: lower, withIntermediateDirectories: true)
            _ = try LayerApplier(mode: .overlay).apply(layerPath: dir + "/l\(i).tar", to: lower)
        }
        // Overlay form: char 0:0 whiteouts and an opaque xattr.
        var st = stat()
        #expect(lstat(dir + "/lower1/c", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0)
        var value: UInt8 = 0
        #expect(berth_lgetxattr(dir + "/lower1/d", "trusted.overlay.opaque", &value, 1) == 1 && value == UInt8(ascii: "y"))
        for name in ["merged"] { try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true) }
        try Mounts.mount(source: "overlay", target: dir + "/merged", type: "overlay", flags: .readOnly,
                         data: "lowerdir=\(dir)/lower2:\(dir)/lower1:\(dir)/lower0")
        #expect(Self.tree(dir + "/merged") == Self.expected)
        try Mounts.unmount(dir + "/merged")

        // Flat form: the same layers in one directory give the same tree.
        let flat = dir + "/flat"
        try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
        for i in Self.layers.indices { _ = try LayerApplier(mode: .flat).apply(layerPath: dir + "/l\(i).tar", to: flat) }
        #expect(Self.tree(flat) == Self.expected)
    }

    @Test("a truncated or garbage archive is refused as corrupt")
    func corrupt() throws {
        let dir = try TarFixture.scratch("corrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TarFixture.write([E(name: "big", data: String(repeating: "x", count: 100_000))], to: dir + "/l.tar", compression: "gzip")
        let full = try Data(contentsOf: URL(fileURLWithPath: dir + "/l.tar"))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: dir + "/half.tar"))
        try Data("this is not a tar".utf8).write(to: URL(fileURLWithPath: dir + "/junk.tar"))
        for name in ["half.tar", "junk.tar"] {
            let target = dir + "/out-" + name
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            #expect(throws: ArchiveError.self) { try LayerApplier(mode: .overlay).apply(layerPath: dir + "/" + name, to: target) }
        }
    }

    @Test("gzip layers: concatenated members are read in turn; a damaged member fails its checksum")
    func gzipMembers() throws {
        let dir = try TarFixture.scratch("gzip-members")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let entries = (0..<40).map { E(name: "f\($0)", data: String(repeating: "\($0)", count: 3_000)) }
        try TarFixture.write(entries, to: dir + "/l.tar")
        // Two gzip members, split in the middle of an entry, as `cat a.gz b.gz` would make.
        try TarFixture.run(["/bin/sh", "-c", "cd \(dir) && head -c 50000 l.tar | gzip -1 > l.tgz && tail -c +50001 l.tar | gzip -9 >> l.tgz"])
        let whole = dir + "/whole"
        try FileManager.default.createDirectory(atPath: whole, withIntermediateDirectories: true)
        let result = try LayerApplier(mode: .overlay).apply(layerPath: dir + "/l.tgz", to: whole)
        #expect(result.entries == 40)
        #expect(try String(contentsOfFile: whole + "/f39", encoding: .utf8) == String(repeating: "39", count: 3_000))

        var damaged = try Data(contentsOf: URL(fileURLWithPath: dir + "/l.tgz"))
        damaged[100] ^= 0xff  // inside the first member's deflate data: bad symbols or a CRC mismatch
        try damaged.write(to: URL(fileURLWithPath: dir + "/bad.tgz"))
        let target = dir + "/bad"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        #expect(throws: ArchiveError.self) { try LayerApplier(mode: .overlay).apply(layerPath: dir + "/bad.tgz", to: target) }
    }
}
