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

    /// The id of the mount that `path` is on (what mountinfo's first field shows), if the
    /// kernel tells (5.8+).
    public static func mountID(_ path: String) -> UInt64? {
        let id = berth_mount_id(path)
        return id < 0 ? nil : UInt64(id)
    }
}
