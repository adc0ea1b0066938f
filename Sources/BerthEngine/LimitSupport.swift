import BerthSystem
import Foundation

/// What this host's cgroups can limit, read once: the validator drops what they cannot with
/// dockerd's warnings, and `docker info` reports it as dockerd does.
public enum LimitSupport {
    /// A pure cgroup v2 host (a hybrid one has its controllers on v1).
    public static let unified = SmallFile.exists("/sys/fs/cgroup/cgroup.controllers")
    /// v1 needs swap accounting (`memory.memsw.*`); v2 has `memory.swap.max` wherever swap is built in.
    public static let swapLimitSupported = unified || SmallFile.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
    /// Real-time CPU time is a v1 `cpu` setting (CONFIG_RT_GROUP_SCHED); v2 has none.
    public static let realtimeSupported = !unified && SmallFile.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")

    /// Whether the block I/O controller takes weights here (v1 `blkio.weight` or BFQ's; v2 `io`).
    public static let blkioWeightSupported: Bool = {
        if SmallFile.exists("/sys/fs/cgroup/blkio/blkio.weight") || SmallFile.exists("/sys/fs/cgroup/blkio/blkio.bfq.weight") { return true }
        guard !SmallFile.exists("/sys/fs/cgroup/blkio"),
              let controllers = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8) else { return false }
        return controllers.split(whereSeparator: \.isWhitespace).contains("io")
    }()
    /// `memory.oom_control`: v1 only.
    public static var oomKillDisable: Bool { !unified }
}
