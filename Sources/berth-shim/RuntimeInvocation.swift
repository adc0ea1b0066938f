import BerthSystem
import CBerthSystem
import Glibc

/// One run of the OCI runtime binary (berth-runtime, runc or crun: same command line),
/// with its errors in a JSON log as containerd's runc shim reads them.
struct RuntimeInvocation {
    let options: ShimOptions

    var logPath: String { options.directory + "/runtime.log" }

    /// Runs `runtime [--root R] --log L --log-format json ARGS…` with the given stdio and waits.
    /// Throws the runtime's last logged error when it fails.
    func run(_ arguments: [String], stdio: (Int32, Int32, Int32)) throws(ShimError) {
        var argv = [options.runtime]
        if let root = options.runtimeRoot { argv += ["--root", root] }
        argv += ["--log", logPath, "--log-format", "json"] + arguments
        let logStart = fileSize(logPath)
        let pid = berth_fork()
        if pid == 0 {
            berth_reset_signals()
            dup2(stdio.0, 0)
            dup2(stdio.1, 1)
            dup2(stdio.2, 2)
            let error = Processes.exec(path: options.runtime, args: argv, env: environment())
            let message = Array("exec \(options.runtime): \(error)\n".utf8)
            message.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
            _exit(127)
        }
        guard pid > 0 else { throw ShimError("fork: \(String(cString: strerror(errno)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let result = ExitStatus(waitStatus: status)
        guard result != .exited(0) else { return }
        throw ShimError(lastError(since: logStart) ?? "\(arguments[0]) failed: runtime \(options.runtime) exited with \(result.shellCode)")
    }

    private func environment() -> [String] {
        var env: [String] = []
        for name in ["PATH", "XDG_RUNTIME_DIR", "HOME"] {
            if let value = getenv(name) { env.append("\(name)=\(String(cString: value))") }
        }
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") }
        return env
    }

    private func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// The last `error` record the runtime appended, passed on raw: berthd decodes the JSON.
    private func lastError(since offset: Int) -> String? {
        guard let text = try? SmallFile.read(logPath) else { return nil }
        let appended = text.utf8.count > offset ? String(decoding: Array(text.utf8)[offset...], as: UTF8.self) : ""
        return appended.split(separator: "\n").last(where: { $0.contains(#""level":"error""#) }).map(String.init)
    }
}

struct ShimError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
