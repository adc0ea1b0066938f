import Foundation
import Glibc

/// One berthd per data root and exec root: an exclusive `flock` on a file in each, held for the
/// daemon's life (the kernel drops it when the process dies, so a crash leaves no stale lock).
/// Two daemons on one store would both adopt the same shims and rewrite the same records.
struct DaemonLock {
    private let descriptors: [Int32]

    /// Locks `berthd.lock` in each directory; throws naming the holder when one is taken.
    init(directories: [String]) throws {
        var held: [Int32] = []
        for directory in directories {
            let path = directory + "/berthd.lock"
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                held.forEach { close($0) }
                throw DaemonLockError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                close(fd)
                held.forEach { close($0) }
                throw DaemonLockError(message: "another berthd\(holder.isEmpty ? "" : " (pid \(holder))") is using \(directory): "
                                      + "stop it, or give this one its own --data-root and --exec-root")
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            held.append(fd)
        }
        descriptors = held
    }
}

struct DaemonLockError: Error {
    let message: String
}
