import BerthSystem
import CBerthSystem
import Glibc

/// A root directory in which paths are resolved as if it were `/`.
///
/// Every lookup goes through openat2(RESOLVE_IN_ROOT), so a symlink or `..` in a container image
/// cannot make a mount, a device node or a directory land outside the rootfs.
struct ContainerRoot {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = try syscallChecked("open rootfs \(path)") { Glibc.open(path, BERTH_O_PATH | O_DIRECTORY | O_CLOEXEC) }
    }

    private static let resolve = BERTH_RESOLVE_IN_ROOT | BERTH_RESOLVE_NO_MAGICLINKS

    /// Opens `relative` inside the root (O_PATH unless other flags are given).
    func open(_ relative: String, flags: Int32 = BERTH_O_PATH) throws -> Int32 {
        let clean = relative.drop(while: { $0 == "/" })
        return try FileDescriptors.openat2(fd, clean.isEmpty ? "." : String(clean), flags: flags, resolve: Self.resolve)
    }

    func close() { _ = Glibc.close(fd) }

    /// mkdir -p inside the root. A symlink on the way is followed inside the root, and
    /// what it points to is created if missing (so a dangling link cannot block or redirect).
    func makeDirectories(_ relative: String, mode: mode_t = 0o755) throws {
        var pending = relative.split(separator: "/").map(String.init).reversed() as [String]
        var current = ""
        var links = 0
        while let component = pending.popLast() {
            if component == "." || component.isEmpty { continue }
            let parent = try open(current.isEmpty ? "." : current, flags: BERTH_O_PATH | O_DIRECTORY)
            defer { Glibc.close(parent) }
            if mkdirat(parent, component, mode) != 0 && errno != EEXIST {
                throw SystemError("create directory \(current)/\(component) in rootfs")
            }
            var st = stat()
            if fstatat(parent, component, &st, AT_SYMLINK_NOFOLLOW) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
                links += 1
                guard links <= 40 else { throw SystemError("resolve \(relative) in rootfs", errno: .tooManySymbolicLinkLevels) }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
                let n = readlinkat(parent, component, &buffer, buffer.count - 1)
                guard n > 0 else { throw SystemError("read symlink \(current)/\(component) in rootfs") }
                let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if target.hasPrefix("/") { current = "" }
                pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                continue
            }
            if component == ".." {
                current = String(current[..<(current.lastIndex(of: "/") ?? current.startIndex)])
            } else {
                current += "/" + component
            }
        }
    }

    /// Makes sure `relative` exists as a regular (empty) file, creating parents.
    func ensureFile(_ relative: String) throws {
        let (parent, name) = split(relative)
        try makeDirectories(parent)
        let dir = try open(parent, flags: BERTH_O_PATH | O_DIRECTORY)
        defer { Glibc.close(dir) }
        let file = openat(dir, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if file >= 0 { Glibc.close(file); return }
        if errno != EEXIST && errno != EISDIR && errno != ELOOP { throw SystemError("create \(relative) in rootfs") }
    }

    /// Runs `body` with the parent directory's fd and the last path component.
    func withParent<T>(_ relative: String, _ body: (Int32, String) throws -> T) throws -> T {
        let (parent, name) = split(relative)
        try makeDirectories(parent)
        let dir = try open(parent, flags: BERTH_O_PATH | O_DIRECTORY)
        defer { Glibc.close(dir) }
        return try body(dir, name)
    }

    /// Mounts onto `relative` through the fd it resolved to, never through a host path.
    func mount(source: String, onto relative: String, type: String?, flags: MountFlags, data: String?) throws {
        let target = try open(relative)
        defer { Glibc.close(target) }
        do {
            try Mounts.mount(source: source, target: "/proc/self/fd/\(target)", type: type, flags: flags, data: data)
        } catch let error as SystemError {
            throw SystemError("mount \(source) on \(relative)\(type.map { " (\($0))" } ?? "")", errno: error.errno)
        }
    }

    /// Sets and clears MOUNT_ATTR_* bits on the mount at `relative` and every mount below it.
    func setAttributes(_ relative: String, set: UInt64, clear: UInt64) throws {
        let target = try open(relative)
        defer { Glibc.close(target) }
        guard berth_mount_setattr(target, "", 1, set, clear) == 0 else {
            throw SystemError("set recursive mount attributes on \(relative) (mount_setattr)")
        }
    }

    private func split(_ relative: String) -> (String, String) {
        let trimmed = relative.split(separator: "/").map(String.init)
        return (trimmed.dropLast().joined(separator: "/"), trimmed.last ?? ".")
    }
}
