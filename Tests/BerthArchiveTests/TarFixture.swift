import Foundation
import Glibc

/// Builds test tars with Python's tarfile, which will write anything — `../` names, absolute
/// paths, links out of the tree — exactly what the applier must refuse.
enum TarFixture {
    struct Entry: Encodable {
        var name: String
        var type = "file"            // file, dir, symlink, hardlink, chr
        var data = ""
        var mode = 0o644
        var uid = 0
        var gid = 0
        var linkname = ""
        var mtime = 1_600_000_000
        var major = 0
        var minor = 0
        var xattrs: [String: String] = [:]
    }

    static let script = #"""
    import io, json, sys, tarfile, gzip
    entries, out, compression = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.mode, info.uid, info.gid, info.mtime = e["mode"], e["uid"], e["gid"], e["mtime"]
            info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            data = e["data"].encode()
            if e["type"] == "dir": info.type = tarfile.DIRTYPE
            elif e["type"] == "symlink": info.type, info.linkname = tarfile.SYMTYPE, e["linkname"]
            elif e["type"] == "hardlink": info.type, info.linkname = tarfile.LNKTYPE, e["linkname"]
            elif e["type"] == "chr": info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, e["major"], e["minor"]
            else: info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if e["type"] == "file" else None)
    raw = buf.getvalue()
    if compression == "gzip": raw = gzip.compress(raw, mtime=0)
    open(out, "wb").write(raw)
    """#

    /// Writes a tar of `entries` to `path` (compression: none, gzip, zstd).
    static func write(_ entries: [Entry], to path: String, compression: String = "none") throws {
        let dir = (path as NSString).deletingLastPathComponent
        let json = dir + "/entries-\(UUID().uuidString).json"
        let py = dir + "/make-tar-\(UUID().uuidString).py"
        try JSONEncoder().encode(entries).write(to: URL(fileURLWithPath: json))
        try script.write(toFile: py, atomically: true, encoding: .utf8)
        defer {
            unlink(json)
            unlink(py)
        }
        try run(["/usr/bin/env", "python3", py, json, path, compression == "zstd" ? "none" : compression])
        if compression == "zstd" {
            try run(["/usr/bin/env", "zstd", "-q", "-f", "--rm", path, "-o", path + ".zst"])
            try FileManager.default.moveItem(atPath: path + ".zst", toPath: path)
        }
    }

    static func run(_ argv: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// A fresh directory for one test; removed by `cleanup`.
    static func scratch(_ name: String) throws -> String {
        let dir = "/tmp/berth-archive-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
