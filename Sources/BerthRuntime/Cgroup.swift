import BerthOCI
import BerthSystem
import Glibc

/// A container's cgroup on either hierarchy layout.
///
/// v1 has one directory per controller hierarchy; v2 one directory in the unified tree.
/// `paths` is what gets stored in the container's state so later commands reopen the same cgroup.
public protocol Cgroup: Sendable {
    /// Controller name → directory (v2: the single key `""`).
    var paths: [String: String] { get }
    func create() throws
    func apply(_ resources: RuntimeSpec.Resources, defaultDevices: [RuntimeSpec.DeviceCgroup]) throws
    /// Moves process `pid` into the cgroup.
    func join(_ pid: pid_t) throws
    /// Moves the calling single-threaded process into the cgroup, by the cheapest path the
    /// kernel offers (see `CgroupV1.joinSelf`).
    func joinSelf() throws
    func setFrozen(_ frozen: Bool) throws
    func isFrozen() -> Bool
    func processes() -> [pid_t]
    func destroy() throws
    /// Number of OOM kills recorded by the memory controller.
    func oomKillCount() -> Int
}

/// Picks the hierarchy layout of this host and builds the container's cgroup.
public enum CgroupFactory {
    public static let root = "/sys/fs/cgroup"

    /// Whether `/sys/fs/cgroup` is a pure cgroup v2 mount.
    public static var isUnified: Bool { Mounts.filesystemType(root) == Mounts.cgroup2Magic }

    /// How a runtime places containers' cgroups (runc's `--systemd-cgroup`).
    public enum Driver: Sendable {
        /// `cgroupsPath` is a directory: absolute, or relative to the runtime's own cgroup.
        case cgroupfs
        /// `cgroupsPath` is `slice:prefix:name`; the unit goes where systemd would put it.
        case systemd
    }

    /// The cgroup for `cgroupsPath` of container `id`.
    public static func make(cgroupsPath: String?, id: String, driver: Driver = .cgroupfs) throws -> any Cgroup {
        let requested = try path(cgroupsPath: cgroupsPath, id: id, driver: driver)
        if isUnified {
            let base = requested.hasPrefix("/") ? "" : ownCgroup(controller: "")
            return CgroupV2(path: normalize(root + base + "/" + requested))
        }
        var paths: [String: String] = [:]
        for (controller, mountpoint) in v1Mounts() {
            let base = requested.hasPrefix("/") ? "" : ownCgroup(controller: controller)
            paths[controller] = normalize(mountpoint + base + "/" + requested)
        }
        return CgroupV1(paths: paths)
    }

    /// The cgroup directory a spec asks for: absolute, or relative to the runtime's cgroup.
    ///
    /// With the cgroupfs driver a path in systemd's form (`a.slice:prefix:name`) is, as in runc,
    /// one directory name relative to the runtime's cgroup. With the systemd driver it is the
    /// unit's place in systemd's tree (systemd creates it when the runtime starts the unit).
    public static func path(cgroupsPath: String?, id: String, driver: Driver) throws -> String {
        switch driver {
        case .cgroupfs:
            return cgroupsPath.flatMap { $0.isEmpty ? nil : $0 } ?? "/berth/\(id)"
        case .systemd:
            guard SystemdManager.available else {
                throw RuntimeError.cgroup("systemd not running on this host, cannot use systemd cgroups manager")
            }
            return try SystemdCgroupPath(cgroupsPath, id: id).cgroupPath
        }
    }

    /// The file whose `oom_kill N` line counts OOM kills in the cgroup at absolute `cgroupsPath`.
    public static func memoryEventsFile(cgroupsPath: String) -> String? {
        if isUnified { return normalize(root + "/" + cgroupsPath) + "/memory.events" }
        return v1Mounts()["memory"].map { normalize($0 + "/" + cgroupsPath) + "/memory.oom_control" }
    }

    /// Reopens a cgroup recorded in a container's state.
    public static func reopen(paths: [String: String]) -> any Cgroup {
        if let unified = paths[""] { return CgroupV2(path: unified) }
        return CgroupV1(paths: paths)
    }

    /// Controller → mount point of every v1 hierarchy (from /proc/self/mountinfo), read once per
    /// process: with a hundred containers' overlays mounted the table is tens of kilobytes, and
    /// splitting all of it into Swift strings took ~5 ms a time, three times per `create` (and
    /// once per start in berthd). Hierarchies are mounted at boot and do not move.
    static func v1Mounts() -> [String: String] { v1MountTable }

    private static let v1MountTable: [String: String] = {
        guard let info = try? SmallFile.readBytes("/proc/self/mountinfo") else { return [:] }
        var result: [String: String] = [:]
        for line in cgroupLines(info) {
            let parts = line.split(separator: " ")
            guard let dash = parts.firstIndex(of: "-"), dash + 3 < parts.count, parts[dash + 1] == "cgroup" else { continue }
            // The hierarchy's root, first mounted: later lines may be binds of a cgroup of it
            // (a container without a mount namespace of its own stacks them on the host).
            guard parts[3] == "/" else { continue }
            let mountpoint = String(parts[4])
            for option in parts[dash + 3].split(separator: ",") {
                let name = option.hasPrefix("name=") ? String(option.dropFirst(5)) : String(option)
                if knownV1Controllers.contains(name) && result[name] == nil { result[name] = mountpoint }
            }
        }
        return result
    }()

    /// The lines of a mount table whose filesystem is `cgroup`, found by a byte scan, so that
    /// only those few lines are ever decoded.
    private static func cgroupLines(_ table: [UInt8]) -> [String] {
        let marker = Array(" - cgroup ".utf8)
        return table.withUnsafeBufferPointer { bytes -> [String] in
            var lines: [String] = []
            var position = 0
            let last = bytes.count - marker.count
            while position <= last {
                guard bytes[position] == marker[0] else { position += 1; continue }
                var matched = 1
                while matched < marker.count, bytes[position + matched] == marker[matched] { matched += 1 }
                guard matched == marker.count else { position += 1; continue }
                var start = position, end = position
                while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                lines.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                position = end
            }
            return lines
        }
    }

    static let knownV1Controllers: Set<String> = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
        "net_cls", "net_prio", "perf_event", "rdma", "misc", "systemd",
    ]

    /// The caller's cgroup for a v1 controller (or v2 when `controller` is empty).
    static func ownCgroup(controller: String) -> String {
        guard let content = try? SmallFile.read("/proc/self/cgroup") else { return "" }
        for line in content.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ",").map { $0.hasPrefix("name=") ? String($0.dropFirst(5)) : String($0) }
            if controller.isEmpty ? parts[0] == "0" : controllers.contains(controller) { return String(parts[2]) }
        }
        return ""
    }

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/") {
            if component == "." || component.isEmpty { continue }
            if component == ".." { _ = parts.popLast(); continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Reads the pids listed in a `cgroup.procs` file.
    static func readPids(_ file: String) -> [pid_t] {
        guard let content = try? SmallFile.read(file) else { return [] }
        return content.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Creates a cgroup directory and its parents. Another runtime (or manager) may remove an
    /// empty parent between our mkdirs (runc leaves parents, tidy tools rmdir them): that
    /// ENOENT is retried, briefly.
    static func makeDirectory(_ path: String) throws {
        for attempt in 0..<20 {
            do { return try SmallFile.makeDirectories(path) } catch let error as SystemError where error.errno == .noSuchFileOrDirectory && attempt < 19 {
                continue
            }
        }
    }

    /// Removes a cgroup directory, retrying briefly while the kernel finishes tearing tasks down.
    static func removeDirectory(_ path: String) throws {
        for attempt in 0..<100 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            guard errno == EBUSY else { throw RuntimeError.cgroup("remove \(path): \(String(cString: strerror(errno)))") }
            if attempt < 99 { usleep(10_000) }
        }
        throw RuntimeError.cgroup("remove \(path): still busy (processes left in it)")
    }

    /// Writes a control file, with a message that names the file and the value.
    static func write(_ directory: String, _ file: String, _ value: String) throws {
        do { try SmallFile.write(directory + "/" + file, value) } catch let error as SystemError {
            throw RuntimeError.cgroup("set \(file)=\(value) in \(directory): \(String(cString: strerror(error.errno.rawValue)))")
        }
    }

    /// The device rules runc allows for every container whatever the spec says (default nodes, ptys).
    static let defaultAllowedDevices: [RuntimeSpec.DeviceCgroup] = [
        .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),     // null
        .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),     // zero
        .init(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),     // full
        .init(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),     // random
        .init(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),     // urandom
        .init(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),     // tty
        .init(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),     // ptmx
        .init(allow: true, type: "c", major: 136, minor: nil, access: "rwm"), // pts/*
    ]
}
