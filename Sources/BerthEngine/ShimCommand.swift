/// What berthd asks of a container's (or an exec's) shim over its control socket, one line each.
/// The shim's side is `berth-shim`'s request loop; these are the only lines it understands.
enum ShimCommand: Sendable, Equatable {
    /// Run the runtime's `start` (the container) or `exec` (an exec's process).
    case start
    /// Answer when the process has exited (the reply is its status).
    case wait
    /// Signal the process, or with `all` every process of the container (SIGKILL on the way to a removal).
    case kill(signal: Int32, all: Bool = false)
    /// The terminal's new size.
    case resize(height: Int, width: Int)
    /// End the attachment `token` without closing the process's stdin (the client detached).
    case detach(token: String)
    /// Never answered: the connection ends when the shim exits.
    case hold

    var line: String {
        switch self {
        case .start: return "START"
        case .wait: return "WAIT"
        case let .kill(signal, all): return "KILL \(signal)" + (all ? " all" : "")
        case let .resize(height, width): return "RESIZE \(height) \(width)"
        case let .detach(token): return "DETACH \(token)"
        case .hold: return "HOLD"
        }
    }
}

