import BerthSystem
import Foundation

/// Namespaces a container shares with another (`--network`, `--ipc`, `--pid container:X`) and
/// the /dev/shm of a shareable IPC namespace.
extension ContainerEngine {
    /// The namespaces of other containers it joins (each must run; an IPC donor must be
    /// shareable), with dockerd's refusals; a shareable container's /dev/shm is mounted here.
    func joinedNamespaces(_ record: ContainerRecord) throws -> JoinedNamespaces {
        func donor(_ mode: String?, _ what: String) throws -> ContainerRecord? {
            guard let mode, mode.hasPrefix("container:") else { return nil }
            let other = String(mode.dropFirst(10))
            guard let id = try? resolve(other), let target = containers[id] else { throw EngineError(.notFound, "No such container: \(other)") }
            guard target.state.running, target.state.pid > 0 else {
                throw EngineError(.conflict, "cannot join \(what) of a non running container: \(other)")
            }
            return target
        }
        var joined = JoinedNamespaces()
        if let target = try donor(record.networkMode, "network namespace") { joined.network = "/proc/\(target.state.pid)/ns/net" }
        if let target = try donor(record.hostConfig.pidMode, "PID") { joined.pid = "/proc/\(target.state.pid)/ns/pid" }
        if let target = try donor(record.hostConfig.ipcMode, "IPC") {
            let mode = target.hostConfig.ipcMode ?? ""
            guard mode == "shareable" || mode == "host" else {
                throw EngineError(.conflict, "non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
            }
            joined.ipc = "/proc/\(target.state.pid)/ns/ipc"
            joined.shm = mode == "host" ? "/dev/shm" : shmPath(target.id)
        }
        if record.hostConfig.ipcMode == "shareable" {
            try mountShm(record)
            joined.shm = shmPath(record.id)
        }
        return joined
    }

    /// A shareable container's /dev/shm: a tmpfs of the host's, which containers joining its
    /// IPC namespace bind too (a mount inside its own namespace could not be reached).
    func shmPath(_ id: String) -> String { directory(id) + "/shm" }

    private func mountShm(_ record: ContainerRecord) throws {
        let path = shmPath(record.id)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Mounted already: a start that failed after it, or a daemon that died while it ran.
        guard Mounts.mountID(path) == Mounts.mountID(directory(record.id)) else { return }
        let size = record.hostConfig.shmSize.flatMap { $0 > 0 ? $0 : nil } ?? 67_108_864
        do {
            try Mounts.mount(source: "shm", target: path, type: "tmpfs", flags: [.noSUID, .noDev, .noExec], data: "mode=1777,size=\(size)")
        } catch { throw EngineError(.internalError, "mount /dev/shm of \(record.name): \(error)") }
    }

    /// Unmounts a shareable container's /dev/shm once it stopped (containers that joined it
    /// keep their own mount of it until they stop).
    func unmountShm(_ id: String) {
        let path = shmPath(id)
        guard FileManager.default.fileExists(atPath: path), Mounts.mountID(path) != Mounts.mountID(directory(id)) else { return }
        EngineLog.attempt("unmount /dev/shm of \(id)") { try Mounts.unmount(path, detach: true) }
    }

    /// A container in another's network sees that one's hostname, hosts and resolv.conf.
    func shareNetworkFiles(_ record: ContainerRecord) throws {
        guard let id = try? resolve(String(record.networkMode.dropFirst(10))), let target = containers[id] else { return }
        for (from, to) in [(target.hostnamePath, record.hostnamePath), (target.hostsPath, record.hostsPath), (target.resolvConfPath, record.resolvConfPath)] {
            try BackgroundSync.shared.writeAtomically(to, Array(try Data(contentsOf: URL(fileURLWithPath: from))))
        }
    }
}
