import CBerthSystem
import Glibc

/// mount(2) flags, named as in `mount -o`.
public struct MountFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    public static let readOnly = MountFlags(rawValue: UInt(MS_RDONLY))
    public static let noSUID = MountFlags(rawValue: UInt(MS_NOSUID))
    public static let noDev = MountFlags(rawValue: UInt(MS_NODEV))
    public static let noExec = MountFlags(rawValue: UInt(MS_NOEXEC))
    public static let synchronous = MountFlags(rawValue: UInt(MS_SYNCHRONOUS))
    public static let remount = MountFlags(rawValue: UInt(MS_REMOUNT))
    public static let mandatoryLock = MountFlags(rawValue: UInt(MS_MANDLOCK))
    public static let dirSync = MountFlags(rawValue: UInt(MS_DIRSYNC))
    public static let noSymFollow = MountFlags(rawValue: 256)
    public static let noAtime = MountFlags(rawValue: UInt(MS_NOATIME))
    public static let noDirAtime = MountFlags(rawValue: UInt(MS_NODIRATIME))
    public static let bind = MountFlags(rawValue: UInt(MS_BIND))
    public static let move = MountFlags(rawValue: UInt(MS_MOVE))
    public static let recursive = MountFlags(rawValue: UInt(MS_REC))
    public static let silent = MountFlags(rawValue: UInt(MS_SILENT))
    public static let unbindable = MountFlags(rawValue: UInt(MS_UNBINDABLE))
    public static let `private` = MountFlags(rawValue: UInt(MS_PRIVATE))
    public static let slave = MountFlags(rawValue: UInt(MS_SLAVE))
    public static let shared = MountFlags(rawValue: UInt(MS_SHARED))
    public static let relAtime = MountFlags(rawValue: UInt(MS_RELATIME))
    public static let strictAtime = MountFlags(rawValue: UInt(MS_STRICTATIME))
    public static let lazyTime = MountFlags(rawValue: UInt(1 << 25))

    public static let propagation: MountFlags = [.private, .slave, .shared, .unbindable]
}

/// Mount-related system calls.
public enum Mounts {
    public static func mount(source: String, target: String, type: String?, flags: MountFlags, data: String? = nil) throws {
        try syscallChecked("mount \(source) on \(target)\(type.map { " (\($0))" } ?? "")") {
            Glibc.mount(source, target, type, flags.rawValue, data)
        }
    }

    public static func unmount(_ target: String, detach: Bool = false) throws {
        try syscallChecked("unmount \(target)") { umount2(target, detach ? Int32(MNT_DETACH) : 0) }
    }

    public static func pivotRoot(newRoot: String, putOld: String) throws {
        try syscallChecked("pivot_root \(newRoot)") { berth_pivot_root(newRoot, putOld) }
    }

    /// Whether `path` is on a filesystem whose magic is `magic` (statfs f_type).
    public static func filesystemType(_ path: String) -> Int? {
        let type = berth_fs_type(path)
        return type < 0 ? nil : Int(type)
    }

    public static let cgroup2Magic = 0x6367_7270

    /// A line of /proc/self/mountinfo, as far as callers need it.
    public struct TableEntry: Sendable, Equatable {
        public let mountPoint: String
        /// `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
        public let optionalFields: [String]

        public var isShared: Bool { optionalFields.contains { $0.hasPrefix("shared:") } }
        public var isSlave: Bool { optionalFields.contains { $0.hasPrefix("master:") } }
    }

    /// The mount that holds `path` (absolute and resolved): the last-mounted of the longest mount
    /// points that are `path` or one of its parents.
    public static func entry(containing path: String) throws -> TableEntry {
        let table = try SmallFile.read("/proc/self/mountinfo")
        var best = TableEntry(mountPoint: "/", optionalFields: [])
        var bestLength = -1
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 6, let dash = fields.firstIndex(of: "-") else { continue }
            let point = unescape(fields[4])
            guard path == point || point == "/" || path.hasPrefix(point + "/"), point.count >= bestLength else { continue }
            best = TableEntry(mountPoint: point, optionalFields: fields[6..<dash].map(String.init))
            bestLength = point.count
        }
        return best
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let code = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(code)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The id of the mount that `path` is on (what mountinfo's first field shows), if the
    /// kernel tells (5.8+).
    public static func mountID(_ path: String) -> UInt64? {
        let id = berth_mount_id(path)
        return id < 0 ? nil : UInt64(id)
    }
}
