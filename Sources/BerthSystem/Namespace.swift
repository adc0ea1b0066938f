import CBerthSystem
import Glibc

/// Linux namespace kinds with their `clone`/`setns` flags and `/proc/<pid>/ns/` names.
public enum NamespaceKind: String, CaseIterable, Sendable {
    case user, mount, pid, network, ipc, uts, cgroup, time

    public var cloneFlag: Int32 {
        switch self {
        case .user: return BERTH_CLONE_NEWUSER
        case .mount: return BERTH_CLONE_NEWNS
        case .pid: return BERTH_CLONE_NEWPID
        case .network: return BERTH_CLONE_NEWNET
        case .ipc: return BERTH_CLONE_NEWIPC
        case .uts: return BERTH_CLONE_NEWUTS
        case .cgroup: return BERTH_CLONE_NEWCGROUP
        case .time: return BERTH_CLONE_NEWTIME
        }
    }

    /// The file name under `/proc/<pid>/ns/`.
    public var procName: String {
        switch self {
        case .mount: return "mnt"
        case .network: return "net"
        default: return rawValue
        }
    }
}

/// Namespace system calls. They require a single-threaded caller for user and mount namespaces.
public enum Namespaces {
    public static func unshare(_ kinds: [NamespaceKind]) throws {
        let flags = kinds.reduce(Int32(0)) { $0 | $1.cloneFlag }
        guard flags != 0 else { return }
        try syscallChecked("unshare(\(kinds.map(\.rawValue).joined(separator: ",")))") { berth_unshare(flags) }
    }

    /// Joins the namespace behind `fd` (opened from a path such as `/proc/123/ns/net`).
    public static func join(fd: Int32, kind: NamespaceKind, path: String) throws {
        try syscallChecked("join \(kind.rawValue) namespace \(path)") { berth_setns(fd, kind.cloneFlag) }
    }

    /// The kind of namespace behind `path` (nil: not a namespace file, or unreadable).
    public static func kind(at path: String) -> NamespaceKind? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let type = berth_ns_type(fd)
        return NamespaceKind.allCases.first { $0.cloneFlag == type }
    }

    /// Number of threads of this process; namespace joins need exactly one.
    public static func threadCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
}
