import BerthSystem
import Foundation
import Glibc

/// The berth-shim processes serving one exec root, found from /proc: a shim is found even when
/// its socket does not answer (stuck in a runtime call) or when no record names it (berthd was
/// killed between spawning it and saving the record).
struct ShimProcess: Sendable, Equatable {
    let pid: pid_t
    /// `--id`: the container (for an exec's shim, the container it runs in).
    let containerID: String
    /// `--dir`: its directory under `EXEC/shims`.
    let directory: String
    /// An exec's shim (`--exec-process`), not a container's.
    let isExec: Bool

    /// Every shim whose directory lies under `shimsRoot`.
    static func all(under shimsRoot: String) -> [ShimProcess] {
        SmallFile.list("/proc").compactMap { entry in
            guard let pid = pid_t(entry), let bytes = try? SmallFile.readBytes("/proc/\(entry)/cmdline") else { return nil }
            let argv = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let program = argv.first, program.hasSuffix("berth-shim") else { return nil }
            func value(_ flag: String) -> String? {
                guard let index = argv.firstIndex(of: flag), index + 1 < argv.count else { return nil }
                return argv[index + 1]
            }
            guard let directory = value("--dir"), directory.hasPrefix(shimsRoot + "/"), let id = value("--id") else { return nil }
            return ShimProcess(pid: pid, containerID: id, directory: directory, isExec: argv.contains("--exec-process"))
        }
    }

    /// SIGKILL to the shim's session: the shim and whatever runtime call it is waiting on (the shim
    /// is a session leader, so its PID is the group's ID).
    func killSession() {
        // Still the same shim? A PID can be reused once it is gone.
        guard let argv = try? SmallFile.readBytes("/proc/\(pid)/cmdline"),
              String(decoding: argv, as: UTF8.self).contains(directory) else { return }
        if getpgid(pid) == pid { kill(-pid, SIGKILL) }
        kill(pid, SIGKILL)
    }
}

extension ContainerEngine {
    /// Ends a container that its runtime may still hold when no shim will: SIGKILL to any shim
    /// left for it, then `kill` and `delete --force` through the runtime (its processes, its
    /// cgroup and its state go).
    func destroyInRuntime(_ id: String, runtimePath: String) async {
        let shimsRoot = config.execRoot + "/shims"
        for shim in ShimProcess.all(under: shimsRoot) where shim.containerID == id { shim.killSession() }
        _ = await Subprocess.run([runtimePath, "--root", runtimeRoot(runtimePath), "delete", "--force", id], timeout: 20)
    }

    /// At start-up: every shim, runtime container, root mount and bundle that no running record
    /// accounts for is killed, deleted or unmounted (a start, create or exec that berthd's death
    /// interrupted).
    func reapOrphans() async {
        let running = Set(containers.values.filter(\.state.running).map(\.id))
        let shimsRoot = config.execRoot + "/shims"
        // An exec's shim in a running container lives on (a `docker exec -d` process survives a
        // daemon restart, as with dockerd); one whose container is gone serves nothing.
        for shim in ShimProcess.all(under: shimsRoot) where !running.contains(shim.containerID) {
            shim.killSession()
            SmallFile.removeTree(shim.directory)
        }
        // A start interrupted after mounting the root (or an exit berthd never heard of).
        for record in containers.values where !record.state.running {
            images.snapshots.unmountContainer(record.id)
            SmallFile.removeTree(bundle(record.id))
        }
        for name in SmallFile.list(config.execRoot + "/runtime") {
            guard let runtimePath = runtimePath(named: name) else { continue }
            for id in SmallFile.list(config.execRoot + "/runtime/" + name) where !id.hasPrefix("@") && !running.contains(id) {
                await destroyInRuntime(id, runtimePath: runtimePath)
            }
        }
    }

    /// The runtime whose state lives in `EXEC/runtime/<name>` (named after its binary).
    private func runtimePath(named name: String) -> String? {
        let candidates = ["berth-runtime"] + config.runtimes.keys.sorted()
        return candidates.lazy.compactMap { try? self.config.runtimePath($0) }
            .first { ($0 as NSString).lastPathComponent == name }
    }
}
