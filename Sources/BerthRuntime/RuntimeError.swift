import BerthSystem

/// Errors of the runtime, phrased for the person who typed the command.
public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    case containerExists(String)
    case containerNotFound(String)
    case invalidID(String)
    case invalidState(id: String, status: String, operation: String)
    case invalidConfig(String)
    case cgroup(String)
    case seccomp(String)
    case hook(String)
    case setup(String)
    case system(SystemError)

    public var description: String {
        switch self {
        case let .containerExists(id): return "container with id \(id) already exists"
        case let .containerNotFound(id): return "container \(id) does not exist"
        case let .invalidID(id): return "invalid container id \"\(id)\": use letters, digits, '_', '+', '-' and '.'"
        case let .invalidState(id, status, operation): return "cannot \(operation) container \(id): it is \(status)"
        case let .invalidConfig(reason): return "invalid config.json: \(reason)"
        case let .cgroup(reason): return "cgroup: \(reason)"
        case let .seccomp(reason): return "seccomp: \(reason)"
        case let .hook(reason): return "hook: \(reason)"
        case let .setup(reason): return reason
        case let .system(error): return error.description
        }
    }
}
