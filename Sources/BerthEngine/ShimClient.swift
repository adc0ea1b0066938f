import BerthSystem
import Foundation
import Glibc

/// berthd's side of a shim's control socket (`shim.sock`): one line out, one line back, on
/// the one thread that polls every shim socket (`ShimPoller`), so a long `WAIT` holds neither a
/// cooperative-pool thread nor one of its own.
struct ShimClient: Sendable {
    let directory: String

    var socketPath: String { directory + "/shim.sock" }
    var exitPath: String { directory + "/exit" }

    /// Sends a command and returns the reply without its `OK ` prefix; `ERR …` replies throw.
    @discardableResult
    func request(_ command: ShimCommand) async throws -> String {
        let text = try await ShimPoller.shared.exchange(socketPath, command.line)
        // The shim refuses to signal a reaped PID: for the caller that is "not running", not a fault.
        if text == "ERR the process has exited" { throw EngineError(.conflict, "the container's process has exited") }
        if text.hasPrefix("ERR ") { throw EngineError(.internalError, ShimClient.runtimeMessage(String(text.dropFirst(4)))) }
        if text == "OK" { return "" }
        return text.hasPrefix("OK ") ? String(text.dropFirst(3)) : text
    }

    /// Returns once no shim serves this directory: at once when none answers, else when the
    /// shim exits (the end of a `HOLD` connection), or after `timeout`.
    func departure(timeout: Duration) async {
        _ = try? await ShimPoller.shared.exchange(socketPath, ShimCommand.hold.line, timeout: timeout)
    }

    /// Whether a shim answers on the socket.
    var isAlive: Bool {
        guard let fd = try? UnixSocket.connect(socketPath) else { return false }
        close(fd)
        return true
    }

    /// The exit the shim recorded: code and time.
    func recordedExit() -> (code: Int32, finishedAt: String, oomKilled: Bool)? {
        guard let text = try? String(contentsOfFile: exitPath, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 3, let code = Int32(fields[0]), let seconds = Int(fields[1]), let nanos = Int(fields[2]) else { return nil }
        return (code, Date.rfc3339(seconds: seconds, nanoseconds: nanos), fields.count > 3 && fields[3] == "1")
    }

    /// The runtime logs errors as JSON (`{"level":"error","msg":…}`); users want the message.
    static func runtimeMessage(_ text: String) -> String {
        guard text.hasPrefix("{"), let value = try? JSONValue(parsing: text.utf8),
              let message = value["msg"]?.string else { return text }
        return message
    }

    /// Starts `berth-shim` with `arguments`; returns once it reports ready (the container PID).
    /// Gives up after `timeout` seconds (the caller then ends what the shim started).
    static func spawn(_ shim: String, arguments: [String], timeout: Double? = nil) async throws -> Int32 {
        let result = await Subprocess.run([shim] + arguments, timeout: timeout)
        if result.timedOut {
            throw EngineError(.internalError, "failed to create task for container: the runtime did not create it within \(Int(timeout ?? 0)) seconds")
        }
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        if result.status == 0, line.hasPrefix("OK ") { return Int32(line.dropFirst(3)) ?? 0 }
        let reason = line.hasPrefix("ERR ") ? runtimeMessage(String(line.dropFirst(4))) : result.output
        throw EngineError(.internalError, "failed to create task for container: \(reason)")
    }
}
