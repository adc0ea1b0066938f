import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The OCI runtime as a library: what `berth-runtime` commands do.
public struct Runtime: Sendable {
    public let store: StateStore
    public let cgroupDriver: CgroupFactory.Driver

    public init(root: String, cgroupDriver: CgroupFactory.Driver = .cgroupfs) {
        store = StateStore(root: root)
        self.cgroupDriver = cgroupDriver
    }

    public struct CreateOptions: Sendable {
        public var bundle: String
        public var consoleSocket: String?
        public var pidFile: String?
        public var noPivot = false
        public var noNewKeyring = false
        public var preserveFDs: Int32 = 0

        public init(bundle: String) { self.bundle = bundle }
    }

    // MARK: create / start / run

    public func create(id: String, options: CreateOptions) throws {
        _ = try launch(id: id, options: options, relayConsole: false)
    }

    public func start(id: String) throws {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .created else {
            throw RuntimeError.cannotStart(status: status.rawValue)
        }
        let fifo = store.fifoPath(id)
        let fd = try syscallChecked("open \(fifo)") { open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
        defer { close(fd) }
        // The init blocks opening the FIFO for writing; a read of its one byte means it went on to exec.
        var started = false
        while !started {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) > 0, (try? FileDescriptors.read(fd, max: 1))?.isEmpty == false {
                started = true
            } else if !record.isAlive {
                throw RuntimeError.setup("container \(id) exited before it could start")
            }
        }
        unlink(fifo)
        RuntimeLog.shared.debug("container \(id): started pid \(record.pid)")
        HookRunner.runWarningOnFailure(record.hooks, .poststart, state: record.ociState(status: .running))
    }

    /// create + start; in the foreground, waits and deletes the container, returning its exit code.
    public func run(id: String, options: CreateOptions, detach: Bool) throws -> Int32 {
        if !detach { _ = berth_set_child_subreaper(1) }
        let relay = !detach && options.consoleSocket == nil
        let (record, console) = try launch(id: id, options: options, relayConsole: relay)
        do { try start(id: id) } catch {
            try? delete(id: id, force: true)
            throw error
        }
        if detach { return 0 }
        let status = try Supervisor(pid: record.pid, console: console).wait()
        try destroy(record)
        return status.shellCode
    }

    private func launch(id: String, options: CreateOptions, relayConsole: Bool) throws -> (ContainerRecord, Int32?) {
        let bundle = try Self.absolute(options.bundle)
        let (spec, specJSON) = try Self.loadSpec(bundle: bundle)
        guard let rootPath = spec.root?.path else { throw RuntimeError.invalidConfig("root.path is missing") }
        let rootfs = try Self.absolute(rootPath.hasPrefix("/") ? rootPath : bundle + "/" + rootPath)
        guard SmallFile.isDirectory(rootfs) else { throw RuntimeError.invalidConfig("root.path \(rootfs) is not a directory") }
        try SpecValidator(spec: spec).validate()
        if spec.process?.terminal == true && options.consoleSocket == nil && !relayConsole {
            throw RuntimeError.invalidConfig("process.terminal is true: pass --console-socket to receive the terminal")
        }
        try store.reserve(id)
        var cgroup: (any Cgroup)?
        var startedUnit: String?
        /// In the runtime's mount namespace: the mount under the rootfs before the init binds it.
        var mountBelowRoot: UInt64?
        var initPid: pid_t = 0
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        do {
            let fifo = store.fifoPath(id)
            try syscallChecked("create \(fifo)") { mkfifo(fifo, 0o622) }
            // The init opens it as the container's root, which a user namespace maps elsewhere.
            try syscallChecked("chmod \(fifo)") { chmod(fifo, 0o622) }
            try syscallChecked("chown \(fifo)") { chown(fifo, Self.hostID(0, spec.linux?.uidMappings), Self.hostID(0, spec.linux?.gidMappings)) }
            let fifoFD = try syscallChecked("open \(fifo)") { open(fifo, BERTH_O_PATH | O_CLOEXEC) }
            fds.append(fifoFD)
            let group = try CgroupFactory.make(cgroupsPath: spec.linux?.cgroupsPath, id: id, driver: cgroupDriver)
            cgroup = group
            let resources = spec.linux?.resources ?? .init()
            let devices = Self.allowedDevices(spec)
            // With systemd the unit's cgroup exists once systemd has started it with a process
            // in it: the helper, which waits for that before it goes on.
            let systemdPath = cgroupDriver == .systemd ? try SystemdCgroupPath(spec.linux?.cgroupsPath, id: id) : nil
            if systemdPath == nil {
                try group.create()
                try store.saveCgroupPaths(id, group.paths)
                try group.apply(resources, defaultDevices: devices)
            }
            var entry = try NamespaceEntry(spec: spec, cgroup: group)
            defer { entry.closeJoinDescriptors() }
            if entry.sharesRuntimeMounts {
                guard let below = Mounts.mountID(rootfs) else {
                    throw RuntimeError.setup("a container without a mount namespace needs a kernel that reports mount ids (statx, Linux 5.8)")
                }
                mountBelowRoot = below
            }
            entry.waitsForPlacement = systemdPath != nil
            let (parent, child) = try SyncChannel.pair()
            fds.append(parent.fd)
            // `spawn` closes the child's end; until then (compileSeccomp may throw) it is ours.
            var childOwned = true
            defer { if childOwned { child.close() } }
            var request = BootstrapRequest(mode: .create, id: id, spec: spec, bundle: bundle, rootfs: rootfs,
                                           namespaces: entry, channelFD: child.fd, fifoFD: fifoFD,
                                           logFD: RuntimeLog.shared.fd, logFormat: RuntimeLog.shared.formatName,
                                           debug: RuntimeLog.shared.debugging)
            request.noPivot = options.noPivot
            request.newKeyring = !options.noNewKeyring
            request.preserveFDs = options.preserveFDs
            try request.compileSeccomp(SeccompProgramCache(root: store.root))
            childOwned = false
            initPid = try NamespaceEntry.spawn(request, parent: parent) { helper in
                guard let systemdPath else { return }
                var systemd = try SystemdManager()
                defer { systemd.close() }
                try systemd.startTransientUnit(systemdPath.unit, slice: systemdPath.slice, pid: helper,
                                               description: "berth-runtime container \(id)")
                startedUnit = systemdPath.unit
                // Hierarchies systemd does not manage (v1 cpuset, freezer…) are ours to create.
                try group.create()
                try store.saveCgroupPaths(id, group.paths)
                try group.apply(resources, defaultDevices: devices)
            }
            RuntimeLog.shared.debug("container \(id): init pid \(initPid), cgroup \(group.paths.values.sorted().first ?? "-")")
            let record = ContainerRecord(id: id, bundle: bundle, rootfs: rootfs, pid: initPid,
                                         pidStartTime: Processes.startTime(initPid) ?? 0,
                                         created: Self.timestamp(), owner: Self.ownerName(),
                                         annotations: spec.annotations, hooks: spec.hooks, cgroupPaths: group.paths,
                                         hostMountBelowRoot: mountBelowRoot, systemdUnit: startedUnit)
            var console: Int32?
            loop: while true {
                switch try parent.receive() {
                case .text("prestart", _):
                    try HookRunner.run(spec.hooks, .prestart, state: record.ociState(status: .created))
                    try HookRunner.run(spec.hooks, .createRuntime, state: record.ociState(status: .created))
                    let state = try JSONCoding.encoder.encode(record.ociState(status: .created))
                    parent.send("continue", String(decoding: state, as: UTF8.self))
                case let .descriptor("console", fd):
                    console = try ContainerTerminal.route(master: fd, consoleSocket: options.consoleSocket)
                case .text("ready", _):
                    break loop
                case let .text("error", message):
                    throw RuntimeError.setup("unable to start container process: " + message)
                case .closed:
                    throw RuntimeError.setup(Self.oomKilled(group)
                        ? "container init was killed by the OOM killer during setup: the memory limit is too low to start the container"
                        : "container init exited during setup")
                case let other:
                    throw RuntimeError.setup("unexpected message from container init: \(other)")
                }
            }
            try store.save(record, specJSON: specJSON)
            if let pidFile = options.pidFile { try Self.writePidFile(pidFile, initPid) }
            return (record, console)
        } catch {
            if initPid > 0 { Glibc.kill(initPid, SIGKILL) }
            if let cgroup {
                for pid in cgroup.processes() { Glibc.kill(pid, SIGKILL) }
                Self.waitGone(initPid)
                if let startedUnit { Self.stopUnit(startedUnit) }
                try? cgroup.destroy()
            }
            if let mountBelowRoot { Self.unbindRoot(rootfs, above: mountBelowRoot) }
            store.remove(id)
            throw error
        }
    }

    // MARK: state, kill, delete

    public func state(id: String) throws -> (RuntimeState, ContainerRecord) {
        let record = try store.load(id)
        return (record.ociState(status: store.status(of: record)), record)
    }

    public func kill(id: String, signal: Int32, all: Bool) throws {
        let record = try store.load(id)
        let status = store.status(of: record)
        // runc: `--all` signals whatever is left in the cgroup and succeeds even once the init
        // has exited (containerd's shim sends `kill --all KILL` to every exited task).
        if all {
            for pid in record.cgroup.processes() { Glibc.kill(pid, signal) }
            if status == .paused && signal == SIGKILL { try? record.cgroup.setFrozen(false) }
            return
        }
        guard status != .stopped else { throw RuntimeError.notRunning }
        // Through a pidfd, checked against the recorded start time, so a recycled pid is never signalled.
        let pidfd = berth_pidfd_open(record.pid)
        guard pidfd >= 0 else { throw RuntimeError.system(SystemError("signal container \(id)")) }
        defer { close(pidfd) }
        guard record.isAlive else { throw RuntimeError.notRunning }
        try syscallChecked("signal container \(id)") { berth_pidfd_send_signal(pidfd, signal) }
        // A frozen cgroup (v1) holds a SIGKILL until it thaws.
        if status == .paused && signal == SIGKILL { try? record.cgroup.setFrozen(false) }
    }

    public func delete(id: String, force: Bool) throws {
        let record: ContainerRecord
        do { record = try store.load(id) } catch RuntimeError.containerNotFound(_) where force {
            // A create killed before it saved the state (its caller died): kill what it
            // started in the cgroup, remove the cgroup and the directory.
            let interrupted = store.interruptedCreate(id)
            guard interrupted.exists else { throw RuntimeError.containerNotFound(id) }
            if let paths = interrupted.cgroupPaths {
                let cgroup = CgroupFactory.reopen(paths: paths)
                for pid in cgroup.processes() { Glibc.kill(pid, SIGKILL) }
                try? cgroup.setFrozen(false)
                try cgroup.destroy()
            }
            store.remove(id)
            return
        }
        switch store.status(of: record) {
        case .stopped, .creating:
            break
        case .created:
            Glibc.kill(record.pid, SIGKILL)
        case let status:
            guard force else {
                throw RuntimeError.notStopped(id: id, status: status.rawValue)
            }
            for pid in record.cgroup.processes() { Glibc.kill(pid, SIGKILL) }
            Glibc.kill(record.pid, SIGKILL)
            if status == .paused { try? record.cgroup.setFrozen(false) }
        }
        try destroy(record)
    }

    /// Removes what a stopped container leaves: its cgroup, its state; then runs poststop hooks.
    private func destroy(_ record: ContainerRecord) throws {
        Self.waitGone(record.pid)
        let cgroup = record.cgroup
        for pid in cgroup.processes() { Glibc.kill(pid, SIGKILL) }
        if let unit = record.systemdUnit { Self.stopUnit(unit) }
        try cgroup.destroy()
        if let below = record.hostMountBelowRoot { Self.unbindRoot(record.rootfs, above: below) }
        store.remove(record.id)
        RuntimeLog.shared.debug("container \(record.id): deleted")
        HookRunner.runWarningOnFailure(record.hooks, .poststop, state: record.ociState(status: .stopped))
    }

    // MARK: pause, resume, update, ps

    public func pause(id: String) throws {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .running || status == .created else { throw RuntimeError.notRunning }
        try record.cgroup.setFrozen(true)
    }

    public func resume(id: String) throws {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .paused else { throw RuntimeError.notPaused }
        try record.cgroup.setFrozen(false)
    }

    public func update(id: String, resources: RuntimeSpec.Resources) throws {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status != .stopped else { throw RuntimeError.notRunning }
        var spec = try store.spec(id)
        try record.cgroup.apply(resources, defaultDevices: resources.devices == nil ? [] : Self.allowedDevices(spec))
        var linux = spec.linux ?? .init()
        linux.resources = Self.merge(linux.resources ?? .init(), resources)
        spec.linux = linux
        try store.save(record, specJSON: Array(try JSONCoding.encoder.encode(spec)))
    }

    public func processes(id: String) throws -> [pid_t] {
        try store.load(id).cgroup.processes()
    }

    // MARK: helpers

    /// The bundle's spec, and its bytes as read (kept with the container's state).
    static func loadSpec(bundle: String) throws -> (RuntimeSpec, [UInt8]) {
        let path = bundle + "/config.json"
        guard let bytes = try? SmallFile.readBytes(path) else { throw RuntimeError.invalidConfig("cannot read \(path)") }
        do { return (try JSONCoding.decoder.decode(RuntimeSpec.self, from: Data(bytes)), bytes) } catch let error as DecodingError {
            throw RuntimeError.invalidConfig(Self.describe(error))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
            }
            return out
        }
        switch error {
        case let .keyNotFound(key, ctx): return "missing \(path(ctx.codingPath + [key]))"
        case let .typeMismatch(type, ctx): return "\(path(ctx.codingPath)): expected \(type)"
        case let .valueNotFound(type, ctx): return "\(path(ctx.codingPath)): expected \(type), found null"
        case let .dataCorrupted(ctx):
            let where_ = path(ctx.codingPath)
            return where_.isEmpty ? "not valid JSON: \(ctx.debugDescription)" : "\(where_): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// Device rules every container gets, plus one per device node the spec creates. FIFOs
    /// (`p`) get none: the devices controller governs only character and block devices (v1
    /// rejects a `p` rule, v2's program never sees a FIFO).
    static func allowedDevices(_ spec: RuntimeSpec) -> [RuntimeSpec.DeviceCgroup] {
        CgroupFactory.defaultAllowedDevices + (spec.linux?.devices ?? []).compactMap {
            $0.type == "p" ? nil : .init(allow: true, type: $0.type == "u" ? "c" : $0.type, major: $0.major, minor: $0.minor, access: "rwm")
        }
    }

    static func merge(_ old: RuntimeSpec.Resources, _ new: RuntimeSpec.Resources) -> RuntimeSpec.Resources {
        var merged = old
        if let m = new.memory { merged.memory = m }
        if let c = new.cpu { merged.cpu = c }
        if let p = new.pids { merged.pids = p }
        if let b = new.blockIO { merged.blockIO = b }
        if let h = new.hugepageLimits { merged.hugepageLimits = h }
        if let u = new.unified { merged.unified = u }
        if let d = new.devices { merged.devices = d }
        return merged
    }

    static func absolute(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw RuntimeError.system(SystemError("resolve \(path)")) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether the OOM killer has killed a process of this cgroup (v1 `memory.oom_control`,
    /// v2 `memory.events`: `oom_kill N`).
    static func oomKilled(_ group: any Cgroup) -> Bool {
        let file = group.paths[""].map { $0 + "/memory.events" } ?? group.paths["memory"].map { $0 + "/memory.oom_control" }
        guard let file, let text = try? SmallFile.read(file) else { return false }
        return text.split(separator: "\n").contains { line in
            line.hasPrefix("oom_kill ") && (Int(line.dropFirst(9)) ?? 0) > 0
        }
    }

    /// Stops a container's systemd unit; a failure is a warning (the cgroup is removed anyway).
    static func stopUnit(_ unit: String) {
        do {
            var systemd = try SystemdManager()
            defer { systemd.close() }
            try systemd.stopUnit(unit)
        } catch {
            RuntimeLog.shared.warning("stop systemd unit \(unit): \(error)")
        }
    }

    /// Detaches the runtime's bind of `rootfs` onto itself (and the mounts on it) from the
    /// runtime's mount namespace, if it is still there above mount `below`.
    static func unbindRoot(_ rootfs: String, above below: UInt64) {
        guard let top = Mounts.mountID(rootfs), top != below else { return }
        try? Mounts.unmount(rootfs, detach: true)
    }

    static func writePidFile(_ path: String, _ pid: pid_t) throws {
        try SmallFile.writeAtomically(path, Array("\(pid)".utf8), durability: .volatile)
    }

    /// Waits up to 10 s for `pid` to disappear (it is not our child: poll its pidfd).
    static func waitGone(_ pid: pid_t) {
        guard pid > 0 else { return }
        let pidfd = berth_pidfd_open(pid)
        guard pidfd >= 0 else { return }
        defer { close(pidfd) }
        var pfd = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 10_000)
        // If it is our child (run, or a re-parented orphan), reap it so no zombie stays behind.
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// The host id that `id` in the container maps to (itself without a user namespace).
    static func hostID(_ id: UInt32, _ mappings: [RuntimeSpec.IDMapping]?) -> UInt32 {
        for m in mappings ?? [] where id >= m.containerID && id - m.containerID < m.size {
            return m.hostID + (id - m.containerID)
        }
        return id
    }

    static func ownerName() -> String {
        guard let pw = getpwuid(getuid()) else { return "" }
        return String(cString: pw.pointee.pw_name)
    }

    /// RFC 3339 with nanoseconds, as runc's `created`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tm = tm()
        var seconds = ts.tv_sec
        gmtime_r(&seconds, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let nanos = String(ts.tv_nsec)
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(String(repeating: "0", count: 9 - nanos.count))\(nanos)Z"
    }
}
