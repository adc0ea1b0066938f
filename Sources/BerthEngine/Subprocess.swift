import BerthSystem
import Foundation
import Glibc

/// Runs helper programs (the shim, the runtime's `ps`/`pause`) from the multithreaded daemon:
/// posix_spawn, never fork; blocking waits happen on their own thread, not on the cooperative pool.
enum Subprocess {
    struct Result: Sendable {
        var status: Int32
        var output: String
        var timedOut = false
    }

    /// Runs `argv` (absolute path first) and returns its exit code and stdout + stderr.
    /// After `timeout` seconds `onTimeout` runs (to kill what the program started), then the
    /// program gets SIGKILL; output up to then is kept.
    static func run(_ argv: [String], timeout: Double? = nil, onTimeout: (@Sendable () -> Void)? = nil) async -> Result {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: runBlocking(argv, timeout: timeout, onTimeout: onTimeout)) }
        }
    }

    /// posix_spawn of `argv` with `actions`, a clean signal mask and SIGPIPE at its default (the
    /// daemon blocks signals in its threads and ignores SIGPIPE; its children must not); in a
    /// session of its own with `newSession`. Returns posix_spawn's result.
    static func spawn(_ argv: [String], actions: inout posix_spawn_file_actions_t, newSession: Bool = false, pid: inout pid_t) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &pipeSignal)
        // POSIX_SPAWN_SETSID is 0x80 (a GNU flag Glibc's module does not export).
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newSession ? 0x80 : 0)))
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        return posix_spawn(&pid, argv[0], &actions, &attributes, args, environ)
    }

    static func runBlocking(_ argv: [String], timeout: Double? = nil, onTimeout: (@Sendable () -> Void)? = nil) -> Result {
        guard let pipe = try? FileDescriptors.pipe() else { return Result(status: -1, output: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, pipe.write, 2)
        // Nothing else of berthd's crosses: its listening sockets, client connections and store
        // files would otherwise live on in every shim (a dead berthd's socket still accepting,
        // an attach never ending while a later shim holds the connection).
        FileDescriptors.closeOthersOnSpawn(&actions)
        var pid: pid_t = 0
        let spawned = spawn(argv, actions: &actions, pid: &pid)
        close(pipe.write)
        defer { close(pipe.read) }
        guard spawned == 0 else { return Result(status: 127, output: "\(argv[0]): \(String(cString: strerror(spawned)))") }
        var output: [UInt8] = []
        var timedOut = false
        if let timeout {
            let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let left = deadline - ContinuousClock.now
                if !timedOut && left <= .zero {
                    timedOut = true
                    onTimeout?()
                    kill(pid, SIGKILL)
                }
                var poller = pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)
                let wait = timedOut ? 1000 : Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                if poll(&poller, 1, wait) == 0 { if timedOut { break } else { continue } }
                let count = buffer.withUnsafeMutableBytes { read(pipe.read, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                output += buffer[0..<count]
            }
        } else {
            output = (try? FileDescriptors.readAll(pipe.read)) ?? []
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Result(status: ExitStatus(waitStatus: status).shellCode, output: String(decoding: output, as: UTF8.self), timedOut: timedOut)
    }
}
