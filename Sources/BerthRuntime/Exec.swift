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

        public init() {}
    }

    /// Runs `process` inside container `id`: same namespaces, cgroup, seccomp filter.
    /// In the foreground returns the process's exit code; detached returns 0 once it runs.
    public func exec(id: String, process: RuntimeSpec.Process, options: ExecOptions) throws -> Int32 {
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .running || status == .created else {
            throw RuntimeError.invalidState(id: id, status: status.rawValue, operation: "exec in")
        }
        let relay = !options.detach && options.consoleSocket == nil
        if process.terminal == true && options.consoleSocket == nil && !relay {
            throw RuntimeError.invalidConfig("a detached exec with a terminal needs --console-socket")
        }
        let entry = try NamespaceEntry(joiningProcess: record.pid, cgroup: record.cgroup)
        defer { entry.closeJoinDescriptors() }
        if !options.detach { _ = berth_set_child_subreaper(1) }
        let (parent, child) = try SyncChannel.pair()
        defer { parent.close() }
        let setup = ProcessSetup(process: process, seccomp: record.spec.linux?.seccomp, containerID: id,
                                 newKeyring: false, preserveFDs: options.preserveFDs,
                                 canSetGroups: true)
        let pid = try entry.spawn(parent: parent, child: child) {
            Self.execBody(setup: setup, entry: entry, terminal: process.terminal == true, size: process.consoleSize, channel: child)
        }
        child.close()
        var console: Int32?
        // The channel is close-on-exec: EOF means the exec succeeded.
        loop: while true {
            switch try parent.receive() {
            case let .descriptor("console", fd):
                if let socket = options.consoleSocket {
                    defer { close(fd) }
                    try Self.sendConsole(fd, to: socket)
                } else {
                    console = fd
                }
            case let .text("error", message):
                if !options.detach { _ = try? Processes.wait(pid) }
                throw RuntimeError.setup(message)
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

    private static func execBody(setup: ProcessSetup, entry: NamespaceEntry, terminal: Bool, size: RuntimeSpec.ConsoleSize?,
                                 channel: SyncChannel) -> Never {
        do {
            try entry.awaitCgroup(channel)
            FileDescriptors.closeAll(except: Set([channel.fd, RuntimeLog.shared.fd] + Array(3..<(3 + setup.preserveFDs))))
            if terminal {
                _ = setsid()
                let (master, slavePath) = try Terminal.openMaster(ptmx: "/dev/ptmx", ptsDirectory: "/dev/pts")
                if let size { try? Terminal.setSize(master, rows: UInt16(clamping: size.height), columns: UInt16(clamping: size.width)) }
                let slave = try syscallChecked("open \(slavePath)") { open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC) }
                try channel.send("console", fd: master)
                close(master)
                for target: Int32 in 0...2 { try syscallChecked("dup2 terminal") { dup2(slave, target) } }
                if slave > 2 { close(slave) }
                try Terminal.setControlling(0)
            }
            try setup.applyLimits()
            let path = try setup.resolveExecutable()
            try setup.execute(path, cwd: setup.process.cwd)
        } catch {
            channel.send("error", "\(error)")
            Processes.exitChild(127)
        }
    }
}
