import Glibc

/// Reading and writing small files in /proc, /sys and state directories without Foundation.
public enum SmallFile {
    public static func read(_ path: String) throws -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    public static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = try syscallChecked("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = try syscallChecked("read \(path)") { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    /// Writes `contents` in one write(2) call, as cgroup and proc files require.
    public static func write(_ path: String, _ contents: String, create: Bool = false) throws {
        let flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0)
        let fd = try syscallChecked("open \(path)") { open(path, flags, 0o644) }
        defer { close(fd) }
        var bytes = Array(contents.utf8)
        let count = bytes.count
        let written = try syscallChecked("write \(path)") { bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, count) } }
        if written != count { throw SystemError("short write to \(path)", errno: .ioError) }
    }

    /// Writes atomically: temp file, rename; readers see the old or the new file, never a part,
    /// and a crash at any point leaves one of the two. `durability` says when the new contents
    /// must also survive a power loss.
    public static func writeAtomically(_ path: String, _ contents: [UInt8], mode: mode_t = 0o644,
                                       durability: Durability = .immediate) throws {
        let temp = path + ".tmp-\(getpid())"
        let fd = try syscallChecked("create \(temp)") { open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temp) }
        }
        var offset = 0
        while offset < contents.count {
            let n = try syscallChecked("write \(temp)") {
                contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, contents.count - offset) }
            }
            offset += n
        }
        if durability == .immediate { try syscallChecked("fsync \(temp)") { fsync(fd) } }
        try syscallChecked("rename \(temp)") { rename(temp, path) }
        ok = true
    }

    /// How soon written contents must survive a power loss.
    public enum Durability: Sendable {
        /// fsync before the write returns.
        case immediate
        /// Never synced here: state a reboot discards anyway, or that the caller syncs later.
        case volatile
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Whether `path` exists, without following a final symlink.
    public static func lexists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw SystemError("create directory \(current)")
            }
        }
    }

    /// Names in a directory, without . and ..
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// rm -rf without following symlinks.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in list(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
