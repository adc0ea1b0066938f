import BerthTestSupport
import Foundation
import Testing

/// A docker command in a real terminal (a detached tmux session): what the screen shows,
/// keys typed, window resizes, and the command's exit status once it ends.
final class TerminalSession {
    let name = "berth-term-\(UInt32.random(in: 0...UInt32.max))"
    private let statusFile: String

    /// `program` is the client: the docker CLI, or berth's.
    /// `keepScreen`: the window stays (until `close`) after the command ends, to read what it left.
    init(_ daemon: DaemonHarness, docker arguments: String, program: String = "docker", columns: Int = 100, rows: Int = 30,
         keepScreen: Bool = false) throws {
        statusFile = daemon.dir + "/\(name).status"
        // Ctrl-C must reach the client as on a real terminal: the test runner may pass SIGINT on
        // ignored (which a shell cannot undo), so `env` restores it; the shell itself survives
        // it to record the status.
        let command = "trap true INT; env --default-signal=INT DOCKER_HOST=\(daemon.host) DOCKER_CONFIG=\(daemon.dir)/client "
            + "\(program) \(arguments); echo $? > \(statusFile).tmp; mv \(statusFile).tmp \(statusFile)"
            + (keepScreen ? "; exec sleep 120" : "")
        let started = Command.capture(["tmux", "new-session", "-d", "-s", name, "-x", "\(columns)", "-y", "\(rows)", command])
        guard started.status == 0 else { throw HarnessFailure("tmux: \(started.stderr)") }
    }

    var screen: String { Command.capture(["tmux", "capture-pane", "-p", "-t", name]).stdout }

    /// tmux key names (`Enter`, `C-p`) or literal text.
    func type(_ keys: String...) { _ = Command.capture(["tmux", "send-keys", "-t", name] + keys) }

    func resize(columns: Int, rows: Int) { _ = Command.capture(["tmux", "resize-window", "-t", name, "-x", "\(columns)", "-y", "\(rows)"]) }

    /// The docker command's exit status, once it has ended (renamed into place, so never half written).
    var exitStatus: String? { try? String(contentsOfFile: statusFile, encoding: .utf8) }

    func close() { _ = Command.capture(["tmux", "kill-session", "-t", name]) }

    /// A shell started in a 100×30 window: its prompt, typing and output, then a resize to 120×40
    /// that must reach the container's pty (tmux → client SIGWINCH → berthd → shim).
    func expectShellTypingAndResize(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Command.eventually(timeout: 20) { screen.contains("/ #") }, sourceLocation: sourceLocation)
        type("echo typed-$((6*7)); stty size", "Enter")
        #expect(Command.eventually { screen.contains("typed-42") && screen.contains("30 100") }, sourceLocation: sourceLocation)
        resize(columns: 120, rows: 40)
        // Ask until the resize has arrived.
        #expect(Command.eventually(timeout: 20) {
            type("stty size", "Enter")
            return Command.eventually(timeout: 1) { screen.contains("40 120") }
        }, sourceLocation: sourceLocation)
    }
}
