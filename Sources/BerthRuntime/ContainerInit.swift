import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc

/// The container's first process, from its fork until it execs the user's program.
///
/// It builds the rootfs, reports "ready", then blocks opening the exec FIFO for writing until
/// `start` opens it for reading — the create/start split runc uses.
struct ContainerInit {
    let request: BootstrapRequest
    let channel: SyncChannel

    private var id: String { request.id }
    private var spec: RuntimeSpec { request.spec }
    private var bundle: String { request.bundle }
    private var entry: NamespaceEntry { request.namespaces }
    private var preserveFDs: Int32 { request.preserveFDs }
    /// O_PATH descriptor of the exec FIFO, reopened for writing through /proc/self/fd.
    private var fifoFD: Int32 { request.fifoFD ?? -1 }

    func run() -> Never {
        let process: RuntimeSpec.Process
        let executable: String
        let setup: ProcessSetup
        /// The state the runtime sent; hooks inside the container get it on stdin.
        var stateJSON: [UInt8] = []
        do {
            guard let p = spec.process else { throw RuntimeError.invalidConfig("process is missing") }
            process = p
            // CVE-2024-21626: a descriptor inherited from our caller (a host directory, say) must not
            // be reachable from the container, not even through /proc/self/fd during setup.
            FileDescriptors.closeAll(except: Set([fifoFD, channel.fd, RuntimeLog.shared.fd] + Array(3..<(3 + preserveFDs))))
            _ = setsid()
            // Device nodes and directories get exactly the modes the spec asks for.
            umask(0)
            if entry.createsUser {
                try syscallChecked("become root in the user namespace") { berth_setresgid_root() }
            }
            let rootSetup = RootfsSetup(spec: spec, bundle: bundle, rootfs: request.rootfs,
                                        inUserNamespace: entry.inUserNamespace,
                                        newCgroupNamespace: entry.creates.contains(.cgroup),
                                        ownMountNamespace: entry.hasOwnMountNamespace,
                                        cgroupPaths: entry.cgroupPaths)
            try rootSetup.prepare()
            channel.send("prestart")
            stateJSON = Array(try channel.expect("continue").utf8)
            try HookRunner.run(spec.hooks, .createContainer, stateJSON: stateJSON)
            try rootSetup.enter(noPivot: request.noPivot)
            try rootSetup.finish()
            if process.terminal == true { try ContainerTerminal.attach(size: process.consoleSize, channel: channel) }
            setup = ProcessSetup(process: process, seccomp: request.seccomp, containerID: id,
                                 newKeyring: request.newKeyring, preserveFDs: preserveFDs,
                                 canSetGroups: (try? SmallFile.read("/proc/self/setgroups"))?.trimmed != "deny")
            try setup.applyLimits()
            executable = try setup.resolveExecutable()
            channel.send("ready")
            channel.close()
        } catch {
            channel.send("error", "\(error)")
            Processes.exitChild(1)
        }
        // From here on nobody waits for our messages: failures go to the container's stderr.
        do {
            let fifo = try syscallChecked("open exec fifo") { open("/proc/self/fd/\(fifoFD)", O_WRONLY | O_CLOEXEC) }
            // `start` is waiting for our byte: startContainer hooks finish before it runs poststart.
            try HookRunner.run(spec.hooks, .startContainer, stateJSON: stateJSON)
            try FileDescriptors.writeAll(fifo, [0x30])
            close(fifo)
            close(fifoFD)
            try setup.execute(executable, cwd: process.cwd)
        } catch {
            let message = Array("berth-runtime: \(error)\n".utf8)
            _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            Processes.exitChild(127)
        }
    }
}
