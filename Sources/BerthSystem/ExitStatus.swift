import CBerthSystem
import Glibc

/// How a process ended, decoded from a wait(2) status.
public enum ExitStatus: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    public init(waitStatus: Int32) {
        if berth_wifsignaled(waitStatus) != 0 {
            self = .signaled(berth_wtermsig(waitStatus))
        } else {
            self = .exited(berth_wexitstatus(waitStatus))
        }
    }

    /// The shell convention: the exit code, or 128 + signal.
    public var shellCode: Int32 {
        switch self {
        case let .exited(code): return code
        case let .signaled(signal): return 128 + signal
        }
    }
}

/// Process primitives: fork, wait, exec. Callers fork only while single-threaded.
public enum Processes {
    /// fork(2). Returns 0 in the child.
    public static func fork() throws -> pid_t {
        fflush(nil)
        return try syscallChecked("fork") { berth_fork() }
    }

    /// Waits for `pid` and decodes its status; retries on EINTR.
    public static func wait(_ pid: pid_t) throws -> ExitStatus {
        var status: Int32 = 0
        try syscallChecked("wait for process \(pid)") { waitpid(pid, &status, 0) }
        return ExitStatus(waitStatus: status)
    }

    /// Non-blocking wait for any child: `nil` when none has exited.
    public static func reapAny() -> (pid: pid_t, status: ExitStatus)? {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        return pid > 0 ? (pid, ExitStatus(waitStatus: status)) : nil
    }

    /// Whether `pid` exists (kill 0), treating EPERM as alive.
    public static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// execve(2) with C strings prepared before the call; returns only on failure.
    public static func exec(path: String, args: [String], env: [String]) -> SystemError {
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        execve(path, cArgs, cEnv)
        return SystemError("exec \(path)")
    }

    /// Leaves a forked child without running atexit handlers or flushing the parent's buffers.
    public static func exitChild(_ code: Int32) -> Never {
        _exit(code)
    }

    /// What /proc/<pid>/stat says about a process, read once.
    public struct Status: Sendable, Equatable {
        /// One letter: R, S, D, Z, X, …
        public var state: Character
        /// Clock ticks since boot: tells a process apart from a later one with a recycled pid.
        public var startTime: UInt64
    }

    /// The state and start time of `pid`; nil if it is gone.
    public static func status(_ pid: pid_t) -> Status? {
        guard let stat = try? SmallFile.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3 of the file); the start time is field 22.
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return Status(state: state, startTime: start)
    }

    public static func startTime(_ pid: pid_t) -> UInt64? { status(pid)?.startTime }
}
