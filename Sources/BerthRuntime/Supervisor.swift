import BerthSystem
import CBerthSystem
import Glibc

/// Keeps `run` and `exec` in the foreground: forwards signals to the container process,
/// relays a terminal when there is no console socket, reaps, and returns the exit status.
struct Supervisor {
    let pid: pid_t
    let console: Int32?

    func wait() throws -> ExitStatus {
        try syscallChecked("block signals") { berth_block_signals() }
        let signals = try syscallChecked("signalfd") { berth_signalfd_all() }
        defer { close(signals) }
        var savedTerminal: termios?
        if let console {
            if isatty(0) != 0 {
                savedTerminal = Terminal.makeRaw(0)
                if let size = Terminal.size(0) { try? Terminal.setSize(console, rows: size.rows, columns: size.columns) }
            }
            _ = berth_set_nonblock(console, 1)
        }
        defer { if let savedTerminal { Terminal.restore(0, savedTerminal) } }

        var stdinOpen = console != nil
        var result: ExitStatus?
        // The child may have exited before we blocked SIGCHLD.
        result = reap()
        while result == nil {
            var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if let console { fds.append(pollfd(fd: console, events: Int16(POLLIN), revents: 0)) }
            if stdinOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll")
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == signals {
                    let signal = berth_signalfd_read(signals)
                    guard signal > 0 else { continue }
                    switch signal {
                    case SIGCHLD: result = reap()
                    case SIGWINCH:
                        if let console, let size = Terminal.size(0) { try? Terminal.setSize(console, rows: size.rows, columns: size.columns) }
                    default: kill(pid, signal)
                    }
                } else if entry.fd == console {
                    // A closed terminal ends nothing by itself: SIGCHLD does.
                    _ = relay(from: entry.fd, to: 1)
                } else if entry.fd == 0, let console {
                    if !relay(from: 0, to: console) { stdinOpen = false }
                }
            }
        }
        if let console { while relay(from: console, to: 1) {} }
        return result!
    }

    /// Reaps every exited child (orphans re-parented to us too); returns the container's status.
    private func reap() -> ExitStatus? {
        var mine: ExitStatus?
        while let (reaped, status) = Processes.reapAny() {
            if reaped == pid { mine = status }
        }
        return mine
    }

    /// Copies one chunk; false at EOF, error or when nothing is ready.
    private func relay(from source: Int32, to target: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 32768)
        let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
        guard n > 0 else { return false }
        try? FileDescriptors.writeAll(target, Array(buffer[0..<n]))
        return true
    }
}
