import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a new container process gets into its cgroup and namespaces.
///
///     runtime ──fork──▶ helper: re-executes as `berth-runtime init` from a read-only bind of the
///                        binary in a private mount namespace, or else from a sealed memfd copy
///                        (CVE-2019-5736), joins the cgroup itself,
///                        setns(joins), unshare(user) ⇄ maps, unshare(the rest)
///                          └─fork──▶ container process (PID 1 of a new pid namespace)
///
/// The helper is a fresh, single-threaded process: namespace joins are allowed, and it can move
/// itself into the cgroup without the lock a move by another process takes (an RCU grace period,
/// 4–25 ms on this kernel). The container process, its fork, inherits the cgroup and runs from
/// the sealed copy. Two forks, because a new pid namespace applies only to children of the
/// process that made it.
struct NamespaceEntry: Codable {
    struct Join: Codable {
        let kind: NamespaceKind
        let fd: Int32
        let path: String
    }

    var joins: [Join] = []
    var creates: [NamespaceKind] = []
    var uidMappings: [RuntimeSpec.IDMapping] = []
    var gidMappings: [RuntimeSpec.IDMapping] = []
    var cgroupPaths: [String: String] = [:]

    var createsUser: Bool { creates.contains(.user) }
    var inUserNamespace: Bool { createsUser || joins.contains { $0.kind == .user } }
    /// The container lives in the runtime's mount namespace (the spec neither creates nor joins
    /// one). The helper may run in a private mount namespace of its own (see above), so the
    /// runtime's is then joined explicitly.
    var sharesRuntimeMounts = false
    /// The runtime places the helper in the container's cgroup (through systemd) before the
    /// helper joins it: the helper waits for "placed" first.
    var waitsForPlacement = false
    var hasOwnMountNamespace: Bool { !sharesRuntimeMounts }

    /// Namespaces from a spec: a `path` means join, none means create.
    init(spec: RuntimeSpec, cgroup: any Cgroup) throws {
        cgroupPaths = cgroup.paths
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
        if !seen.contains(.mount) { try joinRuntimeMounts() }
        sortJoins()
    }

    /// Joins every namespace of a running process that differs from ours (for `exec`).
    init(joiningProcess pid: pid_t, cgroup: any Cgroup) throws {
        cgroupPaths = cgroup.paths
        for kind in NamespaceKind.allCases {
            let theirs = "/proc/\(pid)/ns/\(kind.procName)"
            var a = stat(), b = stat()
            guard stat(theirs, &a) == 0, stat("/proc/self/ns/\(kind.procName)", &b) == 0 else { continue }
            if a.st_ino == b.st_ino && a.st_dev == b.st_dev { continue }
            let fd = open(theirs, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RuntimeError.system(SystemError("open \(theirs)")) }
            joins.append(Join(kind: kind, fd: fd, path: theirs))
        }
        if !joins.contains(where: { $0.kind == .mount }) { try joinRuntimeMounts() }
        sortJoins()
    }

    private mutating func joinRuntimeMounts() throws {
        let path = "/proc/self/ns/mnt"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError.system(SystemError("open \(path)")) }
        joins.append(Join(kind: .mount, fd: fd, path: path))
        sharesRuntimeMounts = true
    }

    /// User namespace first (it grants the rights for the others), mount last (it moves our root).
    private mutating func sortJoins() {
        func rank(_ kind: NamespaceKind) -> Int { kind == .user ? 0 : kind == .mount ? 2 : 1 }
        joins.sort { rank($0.kind) < rank($1.kind) }
    }

    func closeJoinDescriptors() {
        for join in joins { close(join.fd) }
    }

    // MARK: runtime side

    /// Starts the helper for `request` and returns the container process's host pid once it
    /// exists (the container process then waits for "go", sent here).
    /// Takes ownership of the helper's end of the channel (`request.channelFD`): it is closed here
    /// as soon as the helper is forked (or on failure before that). Holding it would keep the
    /// channel open after the helper or the container process died (a tiny memory limit gets
    /// them OOM-killed), and the runtime would wait for a message forever.
    static func spawn(_ request: BootstrapRequest, parent: SyncChannel, place: ((pid_t) throws -> Void)? = nil) throws -> pid_t {
        var helperEnd: Int32? = request.channelFD
        defer { if let helperEnd { close(helperEnd) } }
        // Already running from a read-only mount or a sealed memfd (berthd runs a read-only bind
        // of the runtime): the helper needs no protected copy, so it is a plain fork that starts
        // from the request in memory (no exec, no second start-up and decode of the spec).
        if berth_exe_is_protected() != 0 {
            let helper = try Processes.fork()
            if helper == 0 {
                parent.close()
                Bootstrap.start(request)
            }
            close(request.channelFD)
            helperEnd = nil
            return try serveHelper(helper: helper, entry: request.namespaces, request: request, parent: parent, place: place)
        }
        let requestFD = try writeRequest(request)
        defer { close(requestFD) }
        let entry = request.namespaces
        let inherited = [request.channelFD, requestFD, request.logFD] + (request.fifoFD.map { [$0] } ?? [])
            + entry.joins.map(\.fd)
        let words: [String] = ["berth-runtime", "init", "\(requestFD)"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let helper = try Processes.fork()
        if helper == 0 {
            parent.close()
            for fd in inherited where fd > 2 { _ = berth_set_cloexec(fd, 0) }
            _ = berth_exec_protected_self(argv, environ)
            SyncChannel(fd: request.channelFD).send("error", "cannot run a protected copy of berth-runtime: \(SystemError("re-exec").description)")
            Processes.exitChild(127)
        }
        close(request.channelFD)
        helperEnd = nil
        return try serveHelper(helper: helper, entry: entry, request: request, parent: parent, place: place)
    }

    /// Serves the helper's requests until it reports the container process's PID.
    private static func serveHelper(helper: pid_t, entry: NamespaceEntry, request: BootstrapRequest, parent: SyncChannel,
                                    place: ((pid_t) throws -> Void)?) throws -> pid_t {
        RuntimeLog.shared.debug("\(request.mode.rawValue) \(request.id): helper pid \(helper), joins \(entry.joins.map(\.path)), new \(entry.creates.map(\.rawValue))")
        var pid: pid_t = 0
        do {
            if entry.waitsForPlacement {
                try place?(helper)
                parent.send("placed")
            }
            loop: while true {
                switch try parent.receive() {
                case .text("userns", _):
                    try entry.writeMappings(helper)
                    parent.send("ok")
                case let .text("pid", argument):
                    pid = pid_t(argument) ?? 0
                    break loop
                case let .text("error", argument):
                    throw RuntimeError.setup(argument)
                case .closed:
                    let status = try? Processes.wait(helper)
                    throw RuntimeError.setup(status == .signaled(SIGKILL)
                        ? "container setup process was killed (by the OOM killer, if the memory limit is too low to start the container)"
                        : "container setup process exited unexpectedly")
                case let other:
                    throw RuntimeError.setup("unexpected message during namespace setup: \(other)")
                }
            }
        } catch {
            kill(helper, SIGKILL)
            _ = try? Processes.wait(helper)
            throw error
        }
        _ = try Processes.wait(helper)
        parent.send("go")
        return pid
    }

    private static func writeRequest(_ request: BootstrapRequest) throws -> Int32 {
        let fd = try syscallChecked("memfd_create") { berth_memfd("berth-bootstrap") }
        do {
            try FileDescriptors.writeAll(fd, Array(try JSONCoding.encoder.encode(request)))
            lseek(fd, 0, SEEK_SET)
        } catch {
            close(fd)
            throw error
        }
        return fd
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

    // MARK: helper side

    /// In the helper: enters the namespaces and forks the container process, which runs `body`
    /// after the runtime says "go". Never returns.
    func enter(_ channel: SyncChannel, body: () -> Never) -> Never {
        do {
            if waitsForPlacement { _ = try channel.expect("placed") }
            // Also after a placement: systemd places us only in the hierarchies it manages.
            try CgroupFactory.reopen(paths: cgroupPaths).joinSelf()
            for join in joins { try Namespaces.join(fd: join.fd, kind: join.kind, path: join.path) }
            if createsUser {
                try Namespaces.unshare([.user])
                channel.send("userns")
                _ = try channel.expect("ok")
            }
            // After the cgroup attach: a new cgroup namespace is rooted at the cgroup we are in.
            try Namespaces.unshare(creates.filter { $0 != .user })
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
}

extension NamespaceKind: Codable {}
