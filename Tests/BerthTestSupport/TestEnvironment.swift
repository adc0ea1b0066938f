import Foundation
import Glibc

/// Paths and fixtures shared by the test targets.
public enum TestEnvironment {
    /// The checkout this test binary was built from.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory of the products built with this test bundle (`.build/debug`, or the debug
    /// directory of another `--scratch-path`): where the test executable itself lives.
    public static let binaries: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let directory = URL(fileURLWithPath: executable).deletingLastPathComponent().path
        return FileManager.default.isExecutableFile(atPath: directory + "/berthd") ? directory : packageRoot + "/.build/debug"
    }()

    /// `.testdata/`, with the images of scripts/build-test-images.sh built on first use.
    public static let testData: String = {
        let dir = packageRoot + "/.testdata"
        if !FileManager.default.fileExists(atPath: dir + "/busybox.tar") || !FileManager.default.fileExists(atPath: dir + "/busybox-oci/index.json") {
            _ = Command.run(["/bin/bash", packageRoot + "/scripts/build-test-images.sh"])
        }
        return dir
    }()

    /// This process's mount table, whole: `String(contentsOfFile:)` reads a proc file with one
    /// 4 KiB read, and mounts past that were never seen.
    public static func mountTable() -> String {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return "" }
        defer { try? handle.close() }
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }
}

/// Runs programs with posix_spawn and waitpid: Foundation's Process can miss a child's exit
/// inside async tests.
public enum Command {
    /// Runs `argv` with stdout and stderr going to `output`; returns the exit status.
    @discardableResult
    public static func run(_ argv: [String], output: String = "/dev/null") -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, args, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return shellCode(status)
    }

    /// The shell's code for a wait status: the exit code, or 128 + the signal that killed it
    /// (a crashed helper must not read as success).
    public static func shellCode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs `argv` and returns what it printed, trimmed.
    public static func output(_ argv: [String]) -> String {
        let file = "/tmp/berth-command-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(file) }
        run(argv, output: file)
        return ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A Python one-liner's output (Python is the independent check in several tests).
    public static func python(_ code: String, _ arguments: String...) -> String {
        output(["/usr/bin/env", "python3", "-c", code] + arguments)
    }
}

/// Collects events that callbacks deliver from concurrent tasks.
public final class Recorder<Event: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []

    public init() {}

    public func add(_ event: Event) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    public var all: [Event] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}

/// What a command printed and how it ended.
public struct CapturedRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var timedOut: Bool
}

extension Command {
    /// Runs `argv` (PATH is searched) with `stdin`, extra environment and a deadline; captures both
    /// streams through files, so a detached grandchild holding a pipe cannot stall the caller.
    public static func capture(_ argv: [String], stdin: String? = nil, environment: [String: String] = [:],
                               timeout: Double = 60) -> CapturedRun {
        let tag = "/tmp/berth-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let outPath = tag + ".out", errPath = tag + ".err", inPath = tag + ".in"
        defer { for path in [outPath, errPath, inPath] { unlink(path) } }
        FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let args = argv.map { strdup($0) } + [nil]
        defer { (args + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawnp(&pid, argv[0], &actions, nil, args, cEnv) == 0 else {
            return CapturedRun(status: 127, stdout: "", stderr: "cannot run \(argv[0])", timedOut: false)
        }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            usleep(2000)
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return CapturedRun(status: shellCode(status), stdout: out, stderr: err, timedOut: timedOut)
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
    public static func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}
