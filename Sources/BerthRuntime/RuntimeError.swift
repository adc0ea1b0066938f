import BerthSystem

/// Errors of the runtime, phrased for the person who typed the command.
///
/// The messages about a container's existence and state are runc's, word for word: containerd's
/// shim and other callers recognise them by their text ("container not running", "does not
/// exist") and retry anything else.
public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    case containerExists(String)
    case containerNotFound(String)
    case invalidID(String)
    /// `start` of a container that is not `created`.
    case cannotStart(status: String)
    /// `exec` in a container that is paused or stopped.
    case cannotExec(status: String)
    /// `delete` without `--force` of a container that is not stopped.
    case notStopped(id: String, status: String)
    /// A plain `kill`, `pause` or `update` of a container that is not running.
    case notRunning
    case notPaused
    case invalidConfig(String)
    case cgroup(String)
    case seccomp(String)
    case hook(String)
    case setup(String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .containerExists: return "container with given ID already exists"
        case .containerNotFound: return "container does not exist"
        case let .invalidID(id): return "invalid container id \"\(id)\": use letters, digits, '_', '+', '-' and '.'"
        case .cannotStart(status: "stopped"): return "cannot start a container that has stopped"
        case .cannotStart(status: "running"): return "cannot start an already running container"
        case let .cannotStart(status): return "cannot start a container in the \(status) state"
        case .cannotExec(status: "paused"): return "cannot exec in a paused container (use --ignore-paused to override)"
        case let .cannotExec(status): return "cannot exec in a \(status) container"
        case let .notStopped(id, status): return "cannot delete container \(id) that is not stopped: \(status)"
        case .notRunning: return "container not running"
        case .notPaused: return "container not paused"
        case let .invalidConfig(reason): return "invalid config.json: \(reason)"
        case let .cgroup(reason): return "cgroup: \(reason)"
        case let .seccomp(reason): return "seccomp: \(reason)"
        case let .hook(reason): return "hook: \(reason)"
        case let .setup(reason): return reason
        case let .system(error): return error.description
        }
    }
}
