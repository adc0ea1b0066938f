import BerthOCI
import BerthSystem
import Glibc

/// How a new container process enters its namespaces and cgroup.
///
/// The runtime process is single-threaded (it never starts Dispatch or async work), so forking
/// it and running Swift in the child is safe; that is the trampoline DESIGN.md asks for, without
/// re-executing the binary. The sequence:
///
///     runtime ──fork──▶ intermediate: setns(joins), unshare(user) ⇄ maps, unshare(rest but cgroup)
///                          └─fork──▶ container process (PID 1 of a new pid namespace)
///
/// Two forks, because a new pid namespace only applies to children of the process that made it.
/// The runtime moves the container process into its cgroup while that process already works on
/// its rootfs: a cgroup v1 attach waits for an RCU grace period (4–25 ms here), which this hides.
/// The container process calls `awaitCgroup` before anything that must happen inside the cgroup.
struct NamespaceEntry {
    struct Join {
        let kind: NamespaceKind
        let fd: Int32
        let path: String
    }

    var joins: [Join] = []
    var creates: [NamespaceKind] = []
    var uidMappings: [RuntimeSpec.IDMapping] = []
    var gidMappings: [RuntimeSpec.IDMapping] = []
    var cgroup: (any Cgroup)?

    var createsUser: Bool { creates.contains(.user) }

    /// Namespaces from a spec: a `path` means join, none means create.
    init(spec: RuntimeSpec, cgroup: (any Cgroup)?) throws {
        self.cgroup = cgroup
        var seen = Set<RuntimeSpec.NamespaceType>()
        for ns in spec.linux?.namespaces ?? [] {
            guard seen.insert(ns.type).inserted else { throw RuntimeError.invalidConfig("namespace \(ns.type.rawValue) listed twice") }
            let kind = NamespaceKind(rawValue: ns.type.rawValue)!
            if let path = ns.path, !path.isEmpty {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw RuntimeError.system(SystemError("open \(kind.rawValue) namespace \(path)")) }
                joins.append(Join(kind: kind, fd: fd, path: path))
            } else {
                creates.append(kind)
            }
        }
        if creates.contains(.user) {
            uidMappings = spec.linux?.uidMappings ?? []
            gidMappings = spec.linux?.gidMappings ?? []
            guard !uidMappings.isEmpty, !gidMappings.isEmpty else {
                throw RuntimeError.invalidConfig("a new user namespace needs linux.uidMappings and linux.gidMappings")
            }
        }
        if creates.contains(.time), let offsets = spec.linux?.timeOffsets, !offsets.isEmpty {
            throw RuntimeError.invalidConfig("time namespace offsets are not supported yet")
        }
        sortJoins()
    }

    /// Joins every namespace of a running process that differs from ours (for `exec`).
    init(joiningProcess pid: pid_t, cgroup: (any Cgroup)?) throws {
        self.cgroup = cgroup
        for kind in NamespaceKind.allCases {
            let theirs = "/proc/\(pid)/ns/\(kind.procName)"
            var a = stat(), b = stat()
            guard stat(theirs, &a) == 0, stat("/proc/self/ns/\(kind.procName)", &b) == 0 else { continue }
            if a.st_ino == b.st_ino && a.st_dev == b.st_dev { continue }
            let fd = open(theirs, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RuntimeError.system(SystemError("open \(theirs)")) }
            joins.append(Join(kind: kind, fd: fd, path: theirs))
        }
        sortJoins()
    }

    /// User namespace first (it grants the rights for the others), mount last (it moves our root).
    private mutating func sortJoins() {
        func rank(_ kind: NamespaceKind) -> Int { kind == .user ? 0 : kind == .mount ? 2 : 1 }
        joins.sort { rank($0.kind) < rank($1.kind) }
    }

    func closeJoinDescriptors() {
        for join in joins { close(join.fd) }
    }

    /// Forks into the namespaces. In the container process, `body` runs (after the parent says
    /// "go") and must not return; in the runtime, returns the container process's host pid.
    func spawn(parent: SyncChannel, child: SyncChannel, body: () -> Never) throws -> pid_t {
        guard Namespaces.threadCount() == 1 else {
            throw RuntimeError.setup("internal error: namespace entry needs a single-threaded runtime process")
        }
        let intermediate = try Processes.fork()
        if intermediate == 0 {
            parent.close()
            runIntermediate(child, body: body)
        }
        var pid: pid_t = 0
        do {
            loop: while true {
                switch try parent.receive() {
                case .text("userns", _):
                    try writeMappings(intermediate)
                    parent.send("ok")
                case let .text("pid", argument):
                    pid = pid_t(argument) ?? 0
                    break loop
                case let .text("error", argument):
                    throw RuntimeError.setup(argument)
                case .closed:
                    throw RuntimeError.setup("container setup process exited unexpectedly")
                case let other:
                    throw RuntimeError.setup("unexpected message during namespace setup: \(other)")
                }
            }
        } catch {
            kill(intermediate, SIGKILL)
            _ = try? Processes.wait(intermediate)
            throw error
        }
        _ = try Processes.wait(intermediate)
        parent.send("go")
        do {
            try cgroup?.join(pid)
        } catch {
            kill(pid, SIGKILL)
            throw error
        }
        parent.send("cgroup")
        return pid
    }

    /// In the container process: waits until the runtime has moved us into the cgroup, then
    /// creates the cgroup namespace (whose root is the cgroup we are in at that moment).
    func awaitCgroup(_ channel: SyncChannel) throws {
        _ = try channel.expect("cgroup")
        if creates.contains(.cgroup) { try Namespaces.unshare([.cgroup]) }
    }

    private func runIntermediate(_ channel: SyncChannel, body: () -> Never) -> Never {
        do {
            for join in joins { try Namespaces.join(fd: join.fd, kind: join.kind, path: join.path) }
            if createsUser {
                try Namespaces.unshare([.user])
                channel.send("userns")
                _ = try channel.expect("ok")
            }
            try Namespaces.unshare(creates.filter { $0 != .user && $0 != .cgroup })
            let pid = try Processes.fork()
            if pid == 0 {
                _ = try channel.expect("go")
                body()
            }
            channel.send("pid", "\(pid)")
            Processes.exitChild(0)
        } catch {
            channel.send("error", "\(error)")
            Processes.exitChild(1)
        }
    }

    private func writeMappings(_ pid: pid_t) throws {
        func lines(_ maps: [RuntimeSpec.IDMapping]) -> String {
            maps.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
        }
        do {
            try SmallFile.write("/proc/\(pid)/uid_map", lines(uidMappings))
            try SmallFile.write("/proc/\(pid)/gid_map", lines(gidMappings))
        } catch {
            throw RuntimeError.setup("write user namespace mappings: \(error)")
        }
    }
}
