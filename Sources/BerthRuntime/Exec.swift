import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc

extension Runtime {
    public struct ExecOptions: Sendable {
        public var consoleSocket: String?
        public var pidFile: String?
        public var detach = false
        public var preserveFDs: Int32 = 0
        /// runc's `--ignore-paused`: run the process in a frozen container (it runs once thawed).
        public var ignorePaused = false

        public init() {}
    }

    /// Runs `process` inside container `id`: same namespaces, cgroup, seccomp filter.
    /// In the foreground returns the process's exit code; detached returns 0 once it runs.
    public func exec(id: String, process: RuntimeSpec.Process, options: ExecOptions) throws -> Int32 {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .running || status == .created || (status == .paused && options.ignorePaused) else {
            throw RuntimeError.cannotExec(status: status.rawValue)
        }
        try SpecValidator.validate(process)
        let relay = !options.detach && options.consoleSocket == nil
        if process.terminal == true && options.consoleSocket == nil && !relay {
            throw RuntimeError.invalidConfig("a detached exec with a terminal needs --console-socket")
        }
        let entry = try NamespaceEntry(joiningProcess: record.pid, cgroup: record.cgroup)
        defer { entry.closeJoinDescriptors() }
        if !options.detach { _ = berth_set_child_subreaper(1) }
        let (parent, child) = try SyncChannel.pair()
        defer { parent.close() }
        var childOwned = true
        defer { if childOwned { child.close() } }
        let spec = try store.spec(id)
        var request = BootstrapRequest(mode: .exec, id: id, spec: spec, process: process, bundle: record.bundle,
                                       rootfs: record.rootfs, namespaces: entry, channelFD: child.fd,
                                       logFD: RuntimeLog.shared.fd, logFormat: RuntimeLog.shared.formatName,
                                       debug: RuntimeLog.shared.debugging)
        request.newKeyring = false
        try request.compileSeccomp(SeccompProgramCache(root: store.root))
        request.preserveFDs = options.preserveFDs
        childOwned = false
        let pid = try NamespaceEntry.spawn(request, parent: parent)
        var console: Int32?
        // The channel is close-on-exec: EOF means the exec succeeded.
        loop: while true {
            switch try parent.receive() {
            case let .descriptor("console", fd):
                console = try ContainerTerminal.route(master: fd, consoleSocket: options.consoleSocket)
            case let .text("error", message):
                if !options.detach { _ = try? Processes.wait(pid) }
                throw RuntimeError.setup("unable to start container process: " + message)
            case .closed:
                break loop
            case let other:
                throw RuntimeError.setup("unexpected message from exec process: \(other)")
            }
        }
        if let pidFile = options.pidFile { try Self.writePidFile(pidFile, pid) }
        if options.detach { return 0 }
        return try Supervisor(pid: pid, console: console).wait().shellCode
    }

    /// In the exec'd process (a child of the helper, inside the container's namespaces and cgroup).
    static func execBody(_ request: BootstrapRequest, channel: SyncChannel) -> Never {
        let process = request.process ?? RuntimeSpec.Process()
        let setup = ProcessSetup(process: process, seccomp: request.seccomp, containerID: request.id,
                                 newKeyring: false, preserveFDs: request.preserveFDs, canSetGroups: true)
        do {
            FileDescriptors.closeAll(except: Set([channel.fd, RuntimeLog.shared.fd] + Array(3..<(3 + setup.preserveFDs))))
            if !request.namespaces.hasOwnMountNamespace {
                // A container in the runtime's mount namespace has no namespace to join: its
                // root is the rootfs its init chrooted into.
                try syscallChecked("chdir \(request.rootfs)") { chdir(request.rootfs) }
                try syscallChecked("chroot") { chroot(".") }
            }
            if process.terminal == true {
                _ = setsid()
                try ContainerTerminal.attach(size: process.consoleSize, channel: channel)
            }
            try setup.applyLimits()
            let path = try setup.resolveExecutable()
            try setup.execute(path, cwd: process.cwd)
        } catch {
            channel.send("error", "\(error)")
            Processes.exitChild(127)
        }
    }
}
