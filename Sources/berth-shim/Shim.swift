import CBerthSystem
import CShimLibc

/// One container (or one exec) supervised by a single-threaded poll loop: it owns the
/// process's stdio or pty, writes the json-file log, reaps the process and records its exit,
/// and serves berthd on `shim.sock` with line commands (see docs/daemon.md):
/// `START`, `KILL SIG [all]`, `RESIZE ROWS COLS`, `WAIT`, `STATUS`,
/// `ATTACH STDIN STDOUT STDERR MUX [TOKEN]`, `DETACH TOKEN`, `HOLD`. An attachment's end of input closes
/// a `--stdin-once` stdin; a `DETACH` of its token ends it and leaves stdin open.
final class Shim {
    private enum Client {
        case command([UInt8])
        case attach(Attachment)
        case waiting
        /// Never answered: the connection ends when the shim does (`HOLD`).
        case holding
    }

    private struct Attachment {
        var stdin: Bool
        var stdout: Bool
        var stderr: Bool
        /// Docker's 8-byte stream headers (no TTY) or raw bytes.
        var multiplexed: Bool
        /// Names the attachment for `DETACH` (berthd's detach keys).
        var token: String?
        var readClosed = false
    }

    private let options: ShimOptions
    private let runtime: RuntimeInvocation
    private var log: JSONFileLog?
    private var listener: Int32 = -1
    private var signals: Int32 = -1
    /// Output descriptors and the stream they carry (1 stdout, 2 stderr; a pty is stdout).
    private var outputs: [Int32: UInt8] = [:]
    private var stdinWriter: Int32 = -1
    private var console: Int32 = -1
    private var childStdio: (Int32, Int32, Int32) = (-1, -1, -1)
    private let devNull = shim_open("/dev/null", O_RDWR | O_CLOEXEC, 0)
    private var clients: [Int32: Client] = [:]
    private var pid: pid_t = 0
    private var started = false
    /// The process's exit in the shell's terms (code, or 128 + signal), once reaped.
    private var exitCode: Int32?
    /// Set once the exit is recorded and announced.
    private var exitHandled = false
    /// `runtime delete` after the exit; the shim serves late waiters until it is done.
    private var deletePid: pid_t = 0

    init(options: ShimOptions) {
        self.options = options
        runtime = RuntimeInvocation(options: options)
        if let path = options.logPath {
            log = JSONFileLog(path: path, maxSize: options.logMaxSize, maxFiles: options.logMaxFiles,
                              compress: options.logCompress, attributes: options.logAttributes)
        }
    }

    private var socketPath: String { options.directory + "/shim.sock" }
    private var consolePath: String { options.directory + "/console.sock" }

    /// Prepares stdio and the control socket and, for a container, runs `runtime create`.
    /// Returns the container's PID (0 for an exec that has not started).
    func prepare() throws(ShimError) -> pid_t {
        guard berth_block_signals() == 0 else { throw SystemCalls.failure("block signals") }
        signals = berth_signalfd_all()
        guard signals >= 0 else { throw SystemCalls.failure("signalfd") }
        guard berth_set_child_subreaper(1) == 0 else { throw SystemCalls.failure("subreaper") }
        listener = try SystemCalls.listen(socketPath)
        try setUpStdio()
        if options.execProcess == nil { try create() }
        return pid
    }

    private func setUpStdio() throws(ShimError) {
        if options.tty {
            childStdio = (devNull, devNull, devNull)
            return
        }
        let out = try SystemCalls.pipe()
        let err = try SystemCalls.pipe()
        outputs = [out.read: 1, err.read: 2]
        var input = devNull
        if options.openStdin {
            let pipe = try SystemCalls.pipe()
            input = pipe.read
            stdinWriter = pipe.write
        }
        childStdio = (input, out.write, err.write)
    }

    private var consoleArguments: [String] { options.tty ? ["--console-socket", consolePath] : [] }

    private func create() throws(ShimError) {
        let console = options.tty ? try? SystemCalls.listen(consolePath) : nil
        defer { if let console { close(console); unlink(consolePath) } }
        try runtime.run(["create", "--bundle", options.bundle, "--pid-file", options.directory + "/pid"] + consoleArguments + [options.id], stdio: childStdio)
        try adopt(console: console)
    }

    /// After create or exec: take the pty master, drop the container's ends of the pipes, read the PID.
    private func adopt(console listeningSocket: Int32?) throws(ShimError) {
        if let listeningSocket {
            let connection = SystemCalls.accept(listeningSocket)
            let master = connection.flatMap(SystemCalls.receiveDescriptor)
            if let connection { close(connection) }
            guard let master else { throw ShimError("the runtime did not send the terminal") }
            console = master
            outputs[master] = 1
            stdinWriter = master
        }
        for fd in [childStdio.0, childStdio.1, childStdio.2] where fd != devNull { close(fd) }
        childStdio = (devNull, devNull, devNull)
        guard let text = SystemCalls.readFile(options.directory + "/pid"), let value = pid_t(String(decoding: text.trimmed(), as: UTF8.self)) else {
            throw ShimError("the runtime wrote no pid file")
        }
        pid = value
    }

    private func start() throws(ShimError) {
        guard !started else { return }
        if let process = options.execProcess {
            let console = options.tty ? try? SystemCalls.listen(consolePath) : nil
            defer { if let console { close(console); unlink(consolePath) } }
            try runtime.run(["exec", "--detach", "--pid-file", options.directory + "/pid", "--process", process] + consoleArguments + [options.id], stdio: childStdio)
            try adopt(console: console)
        } else {
            try runtime.run(["start", options.id], stdio: (devNull, devNull, devNull))
        }
        started = true
    }

    /// Serves until the process has exited and its output is drained; never returns.
    func serve() -> Never {
        while true {
            var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for fd in outputs.keys { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            for (fd, client) in clients {
                if case let .attach(attachment) = client, attachment.readClosed { continue }
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if SystemCalls.errno == EINTR { continue }
                _exit(1)
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == signals {
                    if berth_signalfd_read(signals) == SIGCHLD { reap() }
                } else if entry.fd == listener {
                    if let client = SystemCalls.accept(listener) { clients[client] = .command([]) }
                } else if let stream = outputs[entry.fd] {
                    if !pump(entry.fd, stream: stream) { closeOutput(entry.fd) }
                } else if clients[entry.fd] != nil {
                    serveClient(entry.fd)
                }
            }
            if exitCode != nil && !exitHandled { processExited() }
        }
    }

    // MARK: Process exit

    private func reap() {
        var status: Int32 = 0
        while true {
            let child = waitpid(-1, &status, WNOHANG)
            if child <= 0 { return }
            if child == pid { exitCode = SystemCalls.shellCode(waitStatus: status) }
            if child == deletePid { shutDown() }
        }
    }

    /// Whether the kernel's OOM killer struck inside the container's cgroup.
    private func oomKilled() -> Bool {
        guard let file = options.oomFile, let content = SystemCalls.readFile(file) else { return false }
        let key = Array("oom_kill ".utf8)
        for line in content.split(separator: UInt8(ascii: "\n")) where line.starts(with: key) {
            return (Int(String(decoding: line.dropFirst(key.count), as: UTF8.self)) ?? 0) > 0
        }
        return false
    }

    /// An exec whose process could not start ends as dockerd's does: the reason goes to the
    /// attached clients (raw, as dockerd writes it into the hijacked stream), the exit is 127
    /// for a program that is not there and 126 otherwise, and the shim goes (nothing to serve).
    /// The requester of START hears after the exit is on record, so berthd can read it at once.
    private func execFailedToStart(_ message: String, requester: Int32) {
        func mentions(_ phrase: String) -> Bool {
            let text = Array(message.utf8), needle = Array(phrase.utf8)
            guard text.count >= needle.count else { return false }
            return (0...(text.count - needle.count)).contains { Array(text[$0..<($0 + needle.count)]) == needle }
        }
        let missing = mentions("executable file not found") || mentions("no such file or directory")
        exitCode = missing ? 127 : 126
        for (fd, client) in clients {
            if case .attach = client, !SystemCalls.writeAll(fd, Array((message + "\r\n").utf8)) { drop(fd) }
        }
        processExited { self.reply(requester, "ERR \(message)") }
    }

    /// Drains the output, records the exit, answers waiters, then deletes the runtime's
    /// container in the background: a `WAIT` that arrives meanwhile is answered at once, so
    /// berthd never waits for the delete to learn of the exit.
    private func processExited(onRecorded: (() -> Void)? = nil) {
        exitHandled = true
        for fd in Array(outputs.keys) {
            _ = berth_set_nonblock(fd, 1)
            while pump(fd, stream: outputs[fd]!) {}
            closeOutput(fd)
        }
        log?.flush()
        let code = exitCode ?? 255
        let now = Timestamp.now()
        let oom = oomKilled() ? 1 : 0
        try? SystemCalls.writeFileAtomically(options.directory + "/exit", Array("\(code) \(now.seconds) \(now.nanoseconds) \(oom)\n".utf8))
        onRecorded?()
        // Waiters and attached clients first: `docker run` returns as soon as they hear of the exit.
        for (fd, client) in clients {
            if case .waiting = client { reply(fd, "EXIT \(code)") }
            if case .attach = client { drop(fd) }
        }
        if options.execProcess == nil, let child = try? runtime.spawn(["delete", "--force", options.id], stdio: (devNull, devNull, devNull)) {
            deletePid = child
        } else {
            shutDown()
        }
    }

    /// The socket goes last: while it answers, berthd treats the container ID as still in use.
    private func shutDown() -> Never {
        unlink(socketPath)
        _exit(0)
    }

    // MARK: Output

    /// Reads once from an output: logs it and copies it to attached clients. False at end of output.
    private func pump(_ fd: Int32, stream: UInt8) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && SystemCalls.errno == EINTR { return true }
        // A pty master reads EIO once the last slave is closed.
        guard count > 0 else { return false }
        let bytes = buffer[0..<count]
        log?.write(stream: stream, bytes)
        for (client, state) in clients {
            guard case let .attach(attachment) = state else { continue }
            guard stream == 1 ? attachment.stdout : attachment.stderr else { continue }
            var frame: [UInt8] = []
            if attachment.multiplexed {
                let size = UInt32(count)
                frame = [stream, 0, 0, 0, UInt8(size >> 24), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)]
            }
            frame += bytes
            if !SystemCalls.writeAll(client, frame) { drop(client) }
        }
        return true
    }

    private func closeOutput(_ fd: Int32) {
        outputs[fd] = nil
        if fd == console { console = -1; stdinWriter = -1 }
        close(fd)
    }

    // MARK: Clients

    private func drop(_ fd: Int32) {
        clients[fd] = nil
        close(fd)
    }

    private func reply(_ fd: Int32, _ line: String) {
        if !SystemCalls.writeAll(fd, Array((line + "\n").utf8)) { drop(fd) }
    }

    private func serveClient(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = SystemCalls.read(fd, into: &chunk)
        guard count > 0 else {
            clientClosed(fd)
            return
        }
        let bytes = Array(chunk[0..<count])
        switch clients[fd]! {
        case .waiting, .holding: break
        case let .attach(attachment):
            if attachment.stdin { writeStdin(bytes) }
        case var .command(buffer):
            buffer += bytes
            while case .command = clients[fd], let newline = buffer.firstIndex(of: 10) {
                let line = Array(buffer[..<newline])
                buffer = Array(buffer[(newline + 1)...])
                clients[fd] = .command([])
                command(line, from: fd)
            }
            switch clients[fd] {
            case .command: clients[fd] = .command(buffer)
            case let .attach(attachment): if attachment.stdin && !buffer.isEmpty { writeStdin(buffer) }
            default: break
            }
        }
    }

    /// The client closed its side. An attached client may still read output (docker closes
    /// its write side at stdin EOF); with `--stdin-once` that EOF also closes the container's stdin.
    private func clientClosed(_ fd: Int32) {
        guard case var .attach(attachment) = clients[fd], !attachment.readClosed else {
            drop(fd)
            return
        }
        if attachment.stdin && options.stdinOnce && !options.tty && stdinWriter >= 0 {
            close(stdinWriter)
            stdinWriter = -1
        }
        attachment.readClosed = true
        clients[fd] = .attach(attachment)
    }

    private func writeStdin(_ bytes: [UInt8]) {
        guard stdinWriter >= 0 else { return }
        if !SystemCalls.writeAll(stdinWriter, bytes), stdinWriter != console {
            close(stdinWriter)
            stdinWriter = -1
        }
    }

    private func command(_ line: [UInt8], from fd: Int32) {
        let words = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        switch words.first ?? "" {
        case "START" where exitHandled, "KILL" where exitHandled:
            // Its PID is reaped and may already name another process.
            reply(fd, "ERR the process has exited")
        case "START":
            do throws(ShimError) {
                try start()
                reply(fd, "OK \(pid)")
            } catch {
                if options.execProcess != nil {
                    execFailedToStart(error.message, requester: fd)
                } else {
                    reply(fd, "ERR \(error.message)")
                }
            }
        case "STATUS":
            reply(fd, "OK \(pid) \(exitHandled ? "exited" : started ? "running" : "created")")
        case "KILL" where words.count >= 2:
            guard let signal = Int32(words[1]) else { return reply(fd, "ERR bad signal \(words[1])") }
            if options.execProcess != nil || !started {
                if pid > 0 { kill(pid, signal) }
                reply(fd, "OK")
            } else {
                do throws(ShimError) {
                    try runtime.run(["kill"] + (words.count > 2 && words[2] == "all" ? ["--all"] : []) + [options.id, String(signal)],
                                    stdio: (devNull, devNull, devNull))
                    reply(fd, "OK")
                } catch {
                    reply(fd, "ERR \(error.message)")
                }
            }
        case "RESIZE" where words.count == 3:
            if console >= 0, let rows = UInt16(words[1]), let columns = UInt16(words[2]) {
                _ = berth_set_winsize(console, rows, columns)
            }
            reply(fd, "OK")
        case "WAIT":
            if exitHandled, let code = exitCode { reply(fd, "EXIT \(code)") } else { clients[fd] = .waiting }
        case "HOLD":
            // berthd learns when this shim has gone (its runtime container deleted, its socket
            // unlinked) from the end of this connection, without polling for it.
            clients[fd] = .holding
        case "ATTACH" where exitHandled:
            drop(fd)
        case "ATTACH" where words.count == 5 || words.count == 6:
            clients[fd] = .attach(Attachment(stdin: words[1] == "1", stdout: words[2] == "1", stderr: words[3] == "1", multiplexed: words[4] == "1",
                                             token: words.count == 6 ? words[5] : nil))
        case "DETACH" where words.count == 2:
            // The client typed its detach keys: it goes, and the process's stdin stays open
            // (an end of the attachment's input would close a `--stdin-once` stdin).
            for (client, state) in clients {
                if case let .attach(attachment) = state, attachment.token == words[1] { drop(client) }
            }
            reply(fd, "OK")
        default:
            reply(fd, "ERR unknown command \(String(decoding: line, as: UTF8.self))")
        }
    }
}

private extension Array<UInt8> {
    /// Without leading and trailing ASCII white space.
    func trimmed() -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || (0x09...0x0d).contains(byte) }
        var text = self[...]
        while let last = text.last, isSpace(last) { text = text.dropLast() }
        while let first = text.first, isSpace(first) { text = text.dropFirst() }
        return text
    }
}
