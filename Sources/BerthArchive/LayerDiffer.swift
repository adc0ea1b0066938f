import BerthSystem
import CArchive
import CBerthSystem
import Glibc

/// Writes a directory — an overlayfs upper dir, or a plain rootfs — as an OCI layer tar:
/// overlay whiteouts (char 0:0) become `.wh.name` entries and opaque directories get a
/// `.wh..wh..opq` entry. Entries are sorted and owners are numeric, so the same tree gives the
/// same bytes.
public struct LayerDiffer: Sendable {
    public enum Compression: Sendable { case none, gzip }

    public let compression: Compression
    /// A remapped store's owners, written back as the container's (nil: as they are on disk).
    public let ownerShift: OwnerShift?

    public init(compression: Compression = .none, ownerShift: OwnerShift? = nil) {
        self.compression = compression
        self.ownerShift = ownerShift
    }

    private func owners(_ st: stat) -> (Int64, Int64) {
        guard let ownerShift else { return (Int64(st.st_uid), Int64(st.st_gid)) }
        return (Int64(ownerShift.container(uid: st.st_uid)), Int64(ownerShift.container(gid: st.st_gid)))
    }

    public struct Result: Sendable, Equatable {
        public var entries = 0
        public var bytes: Int64 = 0
    }

    /// Writes the layer for `directory` to the file `output` (replaced atomically).
    public func write(directory: String, to output: String) throws -> Result {
        guard let writer = archive_write_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_write_free(writer) }
        archive_write_set_format_pax_restricted(writer)
        if compression == .gzip {
            archive_write_add_filter_gzip(writer)
            archive_write_set_filter_option(writer, "gzip", "timestamp", nil)  // no time in the header
        }
        let temp = output + ".partial"
        guard archive_write_open_filename(writer, temp) == ARCHIVE_OK else {
            throw ArchiveError.write(entry: output, reason: LayerApplier.message(writer))
        }
        guard let disk = archive_read_disk_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_read_free(disk) }
        guard let resolver = archive_entry_linkresolver_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_entry_linkresolver_free(resolver) }
        archive_entry_linkresolver_set_strategy(resolver, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)

        var result = Result()
        do {
            try walk(directory, relative: "", disk: disk, writer: writer, resolver: resolver, result: &result)
            guard archive_write_close(writer) == ARCHIVE_OK else {
                throw ArchiveError.write(entry: output, reason: LayerApplier.message(writer))
            }
            try syscallChecked("rename \(temp)") { rename(temp, output) }
        } catch {
            unlink(temp)
            throw error
        }
        return result
    }

    private func walk(_ root: String, relative: String, disk: OpaquePointer, writer: OpaquePointer,
                      resolver: OpaquePointer, result: inout Result) throws {
        let dir = relative.isEmpty ? root : root + "/" + relative
        for name in SmallFile.list(dir).sorted() {
            let path = relative.isEmpty ? name : relative + "/" + name
            let absolute = root + "/" + path
            var st = stat()
            guard lstat(absolute, &st) == 0 else { throw ArchiveError.write(entry: path, reason: String(cString: strerror(errno))) }
            if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 {
                try writeWhiteout(relative.isEmpty ? Whiteout.prefix + name : relative + "/" + Whiteout.prefix + name,
                                  like: st, writer: writer, result: &result)
                continue
            }
            guard let entry = archive_entry_new() else { throw ArchiveError.corrupt("out of memory") }
            defer { archive_entry_free(entry) }
            archive_entry_copy_sourcepath(entry, absolute)
            guard archive_read_disk_entry_from_file(disk, entry, -1, &st) >= ARCHIVE_WARN else {
                throw ArchiveError.write(entry: path, reason: LayerApplier.message(disk))
            }
            archive_entry_set_pathname(entry, path)
            if ownerShift != nil {
                let (uid, gid) = owners(st)
                archive_entry_set_uid(entry, uid)
                archive_entry_set_gid(entry, gid)
            }
            archive_entry_set_uname(entry, nil)
            archive_entry_set_gname(entry, nil)
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            let opaque = isDirectory && Self.isOpaque(absolute)
            LayerApplier.dropReservedXattrs(entry)
            // With the tar strategy the resolver keeps its own copies: a second name of a file comes
            // back as a hard link with no data, and nothing is ever deferred.
            var linked: OpaquePointer? = entry
            var spare: OpaquePointer?
            archive_entry_linkify(resolver, &linked, &spare)
            if let linked { try writeEntry(linked, source: absolute, writer: writer, result: &result) }
            if isDirectory {
                if opaque { try writeWhiteout(path + "/" + Whiteout.opaqueMarker, like: st, writer: writer, result: &result) }
                try walk(root, relative: path, disk: disk, writer: writer, resolver: resolver, result: &result)
            }
        }
    }

    private func writeEntry(_ entry: OpaquePointer, source: String?, writer: OpaquePointer, result: inout Result) throws {
        let name = String(cString: archive_entry_pathname(entry))
        guard archive_write_header(writer, entry) >= ARCHIVE_WARN else {
            throw ArchiveError.write(entry: name, reason: LayerApplier.message(writer))
        }
        result.entries += 1
        let size = archive_entry_size(entry)
        guard size > 0, archive_entry_filetype(entry) == UInt32(Glibc.S_IFREG), let source else { return }
        let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw ArchiveError.write(entry: name, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var remaining = size
        while remaining > 0 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, Int(remaining))) }
            guard n > 0 else { throw ArchiveError.write(entry: name, reason: "file shrank while being archived") }
            guard buffer.withUnsafeBytes({ archive_write_data(writer, $0.baseAddress, n) }) == n else {
                throw ArchiveError.write(entry: name, reason: LayerApplier.message(writer))
            }
            remaining -= Int64(n)
            result.bytes += Int64(n)
        }
    }

    private func writeWhiteout(_ path: String, like st: stat, writer: OpaquePointer, result: inout Result) throws {
        guard let entry = archive_entry_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_filetype(entry, UInt32(Glibc.S_IFREG))
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, 0)
        let (uid, gid) = owners(st)
        archive_entry_set_uid(entry, uid)
        archive_entry_set_gid(entry, gid)
        archive_entry_set_mtime(entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
        try writeEntry(entry, source: nil, writer: writer, result: &result)
    }

    static func isOpaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        return berth_lgetxattr(path, Whiteout.opaqueXattr, &value, 1) == 1 && value == UInt8(ascii: "y")
    }
}
