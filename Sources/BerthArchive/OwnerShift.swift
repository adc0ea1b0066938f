import Glibc

/// The owners of a user-namespace-remapped store (daemon `userns-remap`): a container's uid
/// `u` is `uid + u` on the host (for `u` below `size`), likewise for groups. Layers are
/// unpacked shifted, and written back to tars unshifted.
public struct OwnerShift: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var uidSize: UInt32
    public var gidSize: UInt32

    public init(uid: UInt32, gid: UInt32, uidSize: UInt32, gidSize: UInt32) {
        self.uid = uid
        self.gid = gid
        self.uidSize = uidSize
        self.gidSize = gidSize
    }

    /// The host owner of a container owner; ids past the range (a copied parent's, already
    /// shifted: a remap starts above its size) stay.
    public func host(uid value: UInt32) -> UInt32 { value < uidSize ? uid + value : value }
    public func host(gid value: UInt32) -> UInt32 { value < gidSize ? gid + value : value }

    /// The container owner of a host owner; ids outside the range are the kernel's overflow id.
    public func container(uid value: UInt32) -> UInt32 { value >= uid && value - uid < uidSize ? value - uid : 65534 }
    public func container(gid value: UInt32) -> UInt32 { value >= gid && value - gid < gidSize ? value - gid : 65534 }

    /// Shifts the owner of everything under `directory` (not following symlinks), keeping the
    /// set-id bits a chown clears.
    public func shiftTree(_ directory: String) throws {
        func visit(_ path: String) throws {
            var info = stat()
            guard lstat(path, &info) == 0 else { throw ArchiveError.write(entry: path, reason: String(cString: strerror(errno))) }
            let owner = host(uid: info.st_uid), group = host(gid: info.st_gid)
            if owner != info.st_uid || group != info.st_gid {
                guard lchown(path, owner, group) == 0 else { throw ArchiveError.write(entry: path, reason: "chown: \(String(cString: strerror(errno)))") }
                let kind = info.st_mode & S_IFMT
                if kind != S_IFLNK, info.st_mode & (S_ISUID | S_ISGID) != 0 { chmod(path, info.st_mode & 0o7777) }
            }
            guard info.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) else { return }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                try visit(path + "/" + name)
            }
        }
        try visit(directory)
    }
}
