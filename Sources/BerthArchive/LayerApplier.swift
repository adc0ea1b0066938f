import BerthSystem
import CArchive
import CBerthSystem
import Glibc

/// Extracts a layer tar (uncompressed, gzip or zstd: detected from the bytes) into a directory
/// it can never escape, keeping owners, modes, times, xattrs, hard links and device nodes.
///
/// Every entry is checked before anything is written: `..` components, absolute paths and hard
/// links out of the layer are refused, and libarchive's SECURE_SYMLINKS refuses to write
/// through a symlink, so a link planted by the layer cannot redirect a later entry.
public struct LayerApplier: Sendable {
    public let mode: ApplyMode
    /// Whose the written entries are.
    public var owners = Owners.archived
    /// dockerd's `noOverwriteDirNonDir`: an entry may not replace a directory with a
    /// non-directory, nor the reverse.
    public var keepKinds = false

    /// Whose the written entries are: the archive's owners (layers), or one owner for all
    /// (`docker cp`, whose files are the container's root's or user's).
    public enum Owners: Sendable {
        case archived
        case fixed(uid: UInt32, gid: UInt32)
    }

    public init(mode: ApplyMode) {
        self.mode = mode
    }

    /// What an apply wrote.
    public struct Result: Sendable, Equatable {
        public var entries = 0
        public var bytes: Int64 = 0
        public var whiteouts = 0
    }

    /// Applies the layer in the file at `layerPath` onto `directory`.
    public func apply(layerPath: String, to directory: String) throws -> Result {
        let fd = open(layerPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.corrupt("cannot open \(layerPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try apply(source: FileSource(fd: fd), to: directory)
    }

    /// Applies the layer read from `source` (gzip is inflated on the way by ISA-L; zstd and
    /// plain tars go to libarchive as they are).
    public func apply(source: ByteSource, to directory: String) throws -> Result {
        guard let resolved = realpath(directory, nil) else {
            throw ArchiveError.write(entry: directory, reason: String(cString: strerror(errno)))
        }
        let root = String(cString: resolved)
        free(resolved)

        guard let reader = archive_read_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_tar(reader)
        let input = ArchiveInput(GunzipSource(source))
        try input.open(reader)
        do {
            return try extract(reader, root: root)
        } catch {
            // The source's own error says more than libarchive's "read failed".
            if let sourceError = input.error { throw sourceError }
            throw error
        }
    }

    private func extract(_ reader: OpaquePointer, root: String) throws -> Result {
        guard let writer = archive_write_disk_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_write_free(writer) }
        // Paths are rewritten to absolute ones under `root` after our own checks, so libarchive's
        // absolute-path refusal stays off; its symlink and ".." guards stay on.
        let flags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR
            | ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
        archive_write_disk_set_options(writer, Int32(flags))

        var result = Result()
        var written = Set<String>()
        var opaqueDirectories: [String] = []
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(reader, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else { throw ArchiveError.corrupt(Self.message(reader)) }
            let name = String(cString: archive_entry_pathname(entry))
            let relative = try Self.clean(name, entry: name)
            if relative.isEmpty { continue }  // "./" itself
            let components = relative.split(separator: "/")
            let base = String(components.last!)
            let parent = components.dropLast().joined(separator: "/")

            if base.hasPrefix(Whiteout.prefix) {
                result.whiteouts += 1
                try applyWhiteout(base: base, parent: parent, root: root, opaque: &opaqueDirectories)
                continue
            }
            try Self.refuseSymlinkAncestors(parent, entry: name, root: root)
            archive_entry_set_pathname(entry, root + "/" + relative)
            if let link = archive_entry_hardlink(entry) {
                let target = try Self.clean(String(cString: link), entry: name)
                guard !target.isEmpty else { throw ArchiveError.escape(entry: name, reason: "hard link to the layer root") }
                archive_entry_set_hardlink(entry, root + "/" + target)
            }
            Self.dropReservedXattrs(entry)
            switch owners {
            case .archived: break
            case let .fixed(uid, gid):
                archive_entry_set_uid(entry, Int64(uid))
                archive_entry_set_gid(entry, Int64(gid))
            }
            if keepKinds { try Self.refuseKindChange(entry, at: root + "/" + relative, relative: relative, name: name) }
            let header = archive_write_header(writer, entry)
            guard header >= ARCHIVE_WARN else {
                throw ArchiveError.write(entry: name, reason: Self.message(writer))
            }
            if archive_entry_size(entry) > 0 && archive_entry_hardlink(entry) == nil {
                result.bytes += try copyData(from: reader, to: writer, entry: name)
            }
            guard archive_write_finish_entry(writer) >= ARCHIVE_WARN else {
                throw ArchiveError.write(entry: name, reason: Self.message(writer))
            }
            written.insert(relative)
            result.entries += 1
        }
        // Directory times and modes are fixed up at close.
        guard archive_write_close(writer) == ARCHIVE_OK else { throw ArchiveError.write(entry: root, reason: Self.message(writer)) }
        if mode == .flat {
            for dir in opaqueDirectories { try clearOpaque(dir, root: root, keep: written) }
        }
        return result
    }

    /// dockerd's refusal of an entry that would turn a directory into a file or the reverse.
    private static func refuseKindChange(_ entry: OpaquePointer, at path: String, relative: String, name: String) throws {
        var existing = stat()
        guard lstat(path, &existing) == 0, archive_entry_hardlink(entry) == nil else { return }
        let wasDirectory = existing.st_mode & S_IFMT == S_IFDIR
        let isDirectory = archive_entry_filetype(entry) == UInt32(Glibc.S_IFDIR)
        if wasDirectory && !isDirectory {
            throw ArchiveError.write(entry: name, reason: "cannot overwrite directory \"/\(relative)\" with non-directory \"\(name)\"")
        }
        if !wasDirectory && isDirectory {
            throw ArchiveError.write(entry: name, reason: "cannot overwrite non-directory \"/\(relative)\" with directory \"\(name)\"")
        }
    }

    private func applyWhiteout(base: String, parent: String, root: String, opaque: inout [String]) throws {
        let parentPath = parent.isEmpty ? root : root + "/" + parent
        try makeDirectories(parent, root: root)
        if base == Whiteout.opaqueMarker {
            switch mode {
            case .overlay:
                guard berth_lsetxattr(parentPath, Whiteout.opaqueXattr, "y", 1) == 0 else {
                    throw ArchiveError.write(entry: parent + "/" + base, reason: "set \(Whiteout.opaqueXattr): \(String(cString: strerror(errno)))")
                }
            case .flat:
                opaque.append(parent)
            }
            return
        }
        let hidden = String(base.dropFirst(Whiteout.prefix.count))
        guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
            throw ArchiveError.escape(entry: parent + "/" + base, reason: "whiteout of \"\(hidden)\"")
        }
        let path = parentPath + "/" + hidden
        switch mode {
        case .overlay:
            SmallFile.removeTree(path)
            guard mknod(path, S_IFCHR | 0o000, 0) == 0 else {
                throw ArchiveError.write(entry: parent + "/" + base, reason: "create whiteout: \(String(cString: strerror(errno)))")
            }
        case .flat:
            SmallFile.removeTree(path)
        }
    }

    /// Creates `relative` under `root` one component at a time, never through a symlink.
    private func makeDirectories(_ relative: String, root: String) throws {
        var path = root
        for component in relative.split(separator: "/") {
            path += "/" + component
            var st = stat()
            if lstat(path, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw ArchiveError.escape(entry: relative, reason: "\(path) is not a directory")
                }
                continue
            }
            guard mkdir(path, 0o755) == 0 else { throw ArchiveError.write(entry: relative, reason: String(cString: strerror(errno))) }
        }
    }

    /// Flat mode's opaque directory: everything that was there before this layer goes.
    private func clearOpaque(_ dir: String, root: String, keep: Set<String>) throws {
        let path = dir.isEmpty ? root : root + "/" + dir
        for name in SmallFile.list(path) {
            let relative = dir.isEmpty ? name : dir + "/" + name
            if !keep.contains(relative) { SmallFile.removeTree(path + "/" + name) }
        }
    }

    private func copyData(from reader: OpaquePointer, to writer: OpaquePointer, entry name: String) throws -> Int64 {
        var total: Int64 = 0
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        while true {
            let rc = archive_read_data_block(reader, &buffer, &size, &offset)
            if rc == ARCHIVE_EOF { return total }
            guard rc >= ARCHIVE_WARN else { throw ArchiveError.corrupt("\(name): \(Self.message(reader))") }
            guard archive_write_data_block(writer, buffer, size, offset) >= ARCHIVE_WARN else {
                throw ArchiveError.write(entry: name, reason: Self.message(writer))
            }
            total += Int64(size)
        }
    }

    /// An entry under a symlink would be written wherever the link points: refused. (libarchive
    /// alone would quietly replace the link with a directory.)
    static func refuseSymlinkAncestors(_ parent: String, entry: String, root: String) throws {
        var path = root
        for component in parent.split(separator: "/") {
            path += "/" + component
            var st = stat()
            guard lstat(path, &st) == 0 else { return }  // the rest does not exist yet
            if (st.st_mode & S_IFMT) == S_IFLNK {
                throw ArchiveError.escape(entry: entry, reason: "\(path.dropFirst(root.count + 1)) is a symlink")
            }
        }
    }

    /// `./a/b/` → `a/b`; refuses absolute paths and `..`.
    static func clean(_ path: String, entry: String) throws -> String {
        if path.hasPrefix("/") { throw ArchiveError.escape(entry: entry, reason: "absolute path") }
        var parts: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == ".." { throw ArchiveError.escape(entry: entry, reason: "\"..\" leaves the layer") }
            parts.append(component)
        }
        return parts.joined(separator: "/")
    }

    /// Layers may carry xattrs, but never overlayfs's own (they steer lookups across layers).
    static func dropReservedXattrs(_ entry: OpaquePointer) {
        guard archive_entry_xattr_reset(entry) > 0 else { return }
        var kept: [(String, [UInt8])] = []
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        var dropped = false
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK, let name {
            let key = String(cString: name)
            if key.hasPrefix(Whiteout.reservedXattrPrefix) { dropped = true; continue }
            kept.append((key, value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
        }
        guard dropped else { return }
        archive_entry_xattr_clear(entry)
        for (key, bytes) in kept {
            bytes.withUnsafeBytes { archive_entry_xattr_add_entry(entry, key, $0.baseAddress, $0.count) }
        }
    }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "error \(archive_errno(archive))"
    }
}
