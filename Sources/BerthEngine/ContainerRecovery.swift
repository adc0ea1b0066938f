import BerthSystem
import Foundation
import Glibc

/// Crash recovery: what a dead shim or a dead berthd left half done is ended or undone, so that
/// no process, runtime state or mount outlives the record that accounts for it.
extension ContainerEngine {
    /// At start-up: every shim, runtime container, root mount and bundle that no running record
    /// accounts for is killed, deleted or unmounted (a start, create or exec that berthd's death
    /// interrupted).
    func reapOrphans() async {
        let running = Set(containers.values.filter(\.state.running).map(\.id)).union(containers.unreadable)
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
            SmallFile.removeTree(shims.bundle(record.id))
        }
        for name in SmallFile.list(config.execRoot + "/runtime") {
            guard let runtimePath = runtimePath(named: name) else { continue }
            for id in SmallFile.list(config.execRoot + "/runtime/" + name) where !id.hasPrefix("@") && !running.contains(id) {
                await shims.destroy(id, runtimePath: runtimePath)
            }
        }
    }

    /// The runtime whose state lives in `EXEC/runtime/<name>` (named after its binary).
    private func runtimePath(named name: String) -> String? {
        let candidates = ["berth-runtime"] + config.runtimes.keys.sorted()
        return candidates.lazy.compactMap { try? self.config.runtimePath($0) }
            .first { ($0 as NSString).lastPathComponent == name }
    }

    /// Marks a container frozen by a commit while the commit runs (a file beside its record).
    func commitFreezeMarker(_ id: String) -> String { directory(id) + "/commit-frozen" }

    /// At start-up: a container whose commit berthd's death interrupted is still frozen, while
    /// its record says running; it is thawed.
    func thawInterruptedCommits() async {
        for record in containers.values where SmallFile.lexists(commitFreezeMarker(record.id)) {
            if record.state.status == .running {
                await EngineLog.attempt("thaw \(record.name), frozen by an interrupted commit") { try await freeze(record.id, false) }
            }
            unlink(commitFreezeMarker(record.id))
        }
    }
}
