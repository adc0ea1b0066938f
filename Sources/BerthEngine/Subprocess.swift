import BerthSystem
import Foundation
import Glibc

/// Runs helper programs (the shim, the runtime's `ps`/`pause`) from the multithreaded daemon:
/// posix_spawn, never fork; blocking waits happen on their own thread, not on the cooperative pool.
enum Subprocess {
    struct Result: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `argv` (absolute path first) and returns its exit code and stdout + stderr.
    static func run(_ argv: [String]) async -> Result {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: runBlocking(argv)) }
        }
    }

    static func runBlocking(_ argv: [String]) -> Result {
        guard let pipe = try? FileDescriptors.pipe() else { return Result(status: -1, output: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, pipe.write, 2)
        // The daemon may block signals in its threads; children start with a clean mask.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, args, environ)
        close(pipe.write)
        defer { close(pipe.read) }
        guard spawned == 0 else { return Result(status: 127, output: "\(argv[0]): \(String(cString: strerror(spawned)))") }
        let output = (try? FileDescriptors.readAll(pipe.read)) ?? []
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Result(status: ExitStatus(waitStatus: status).shellCode, output: String(decoding: output, as: UTF8.self))
    }
}
