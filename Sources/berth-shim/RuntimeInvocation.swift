import CBerthSystem
import CShimLibc

/// One run of the OCI runtime binary (berth-runtime, runc or crun: same command line),
/// with its errors in a JSON log as containerd's runc shim reads them.
struct RuntimeInvocation {
    let options: ShimOptions

    var logPath: String { options.directory + "/runtime.log" }

    /// Runs `runtime [--root R] --log L --log-format json ARGS…` with the given stdio and waits.
    /// Throws the runtime's last logged error when it fails.
    func run(_ arguments: [String], stdio: (Int32, Int32, Int32)) throws(ShimError) {
        let logStart = fileSize(logPath)
        let pid = try spawn(arguments, stdio: stdio)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && SystemCalls.errno == EINTR {}
        let code = SystemCalls.shellCode(waitStatus: status)
        guard code != 0 else { return }
        throw ShimError(lastError(since: logStart) ?? "\(arguments[0]) failed: runtime \(options.runtime) exited with \(code)")
    }

    /// Starts the runtime without waiting; the caller reaps the returned PID.
    func spawn(_ arguments: [String], stdio: (Int32, Int32, Int32)) throws(ShimError) -> pid_t {
        var argv = [options.runtime]
        if let root = options.runtimeRoot { argv += ["--root", root] }
        argv += ["--log", logPath, "--log-format", "json"] + arguments
        let pid = berth_fork()
        if pid == 0 {
            berth_reset_signals()
            dup2(stdio.0, 0)
            dup2(stdio.1, 1)
            dup2(stdio.2, 2)
            let error = SystemCalls.exec(options.runtime, arguments: argv, environment: environment())
            SystemCalls.writeAll(2, Array("\(error.message)\n".utf8))
            _exit(127)
        }
        guard pid > 0 else { throw SystemCalls.failure("fork") }
        return pid
    }

    private func environment() -> [String] {
        var env: [String] = []
        for name in ["PATH", "XDG_RUNTIME_DIR", "HOME"] {
            if let value = SystemCalls.environment(name) { env.append(name + "=" + value) }
        }
        if SystemCalls.environment("PATH") == nil { env.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") }
        return env
    }

    private func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// The last `error` record the runtime appended, passed on raw: berthd decodes the JSON.
    private func lastError(since offset: Int) -> String? {
        guard let log = SystemCalls.readFile(logPath), log.count > offset else { return nil }
        let marker = Array(#""level":"error""#.utf8)
        let line = log[offset...].split(separator: UInt8(ascii: "\n")).last { $0.contains(marker) }
        return line.map { String(decoding: $0, as: UTF8.self) }
    }
}

extension ArraySlice<UInt8> {
    /// Whether `needle` occurs in these bytes.
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return needle.isEmpty }
        var start = startIndex
        while start + needle.count <= endIndex {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
            start += 1
        }
        return false
    }
}
