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
            return ShimProcess(pid: pid, containerID: id, directory: directory)
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
