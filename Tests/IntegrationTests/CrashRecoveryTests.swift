import BerthTestSupport
import Foundation
import Testing

/// kill -9 at the stages an attack run found leaks: of a shim, of berthd while a start is in
/// the runtime, a runtime that never answers, a commit's freeze, a second daemon on one store.
@Suite("crash recovery")
struct CrashRecoveryTests {
    /// A runtime wrapping berth-runtime that hangs (recording its PID) when it gets `hangOn`.
    static func hangingRuntime(in dir: String, hangOn command: String) throws -> String {
        let path = dir + "/hang-\(command)"
        let script = """
            #!/bin/sh
            for argument; do
              if [ "$argument" = "\(command)" ]; then echo $$ >> \(dir)/hung.pids; exec sleep 600; fi
            done
            exec \(DaemonHarness.binaries)/berth-runtime "$@"
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// The PIDs the hanging runtime recorded, still alive (to assert on and to clean up). A killed
    /// process whose parent died stays a zombie until init reaps it: that is not alive.
    static func hungProcesses(_ dir: String) -> [Int32] {
        ((try? String(contentsOfFile: dir + "/hung.pids", encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { Int32($0) }.filter { pid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                return !stat[close...].hasPrefix(") Z")
            }
    }

    static func shimProcesses(_ dir: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), let bytes = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let command = String(decoding: bytes, as: UTF8.self)
            return command.contains("berth-shim\u{0}") && command.contains(dir + "/run/") ? pid : nil
        }
    }

    @Test func aKilledShimTakesItsContainerWithIt() throws {
        let daemon = try DaemonHarness("shimkill")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "orphaned", "--network", "none", "busybox", "sleep", "600").status == 0)
        let pid = try #require(Int32(daemon.docker("inspect", "-f", "{{.State.Pid}}", "orphaned").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        let shim = try #require(HardeningTests.parent(of: String(pid)))
        try #require(pid > 0 && shim > 1)
        kill(shim, SIGKILL)
        #expect(Command.eventually(timeout: 20) { kill(pid, 0) != 0 }, "the container's process outlived its shim")
        #expect(Command.eventually { daemon.docker("inspect", "-f", "{{.State.Status}}", "orphaned").stdout == "exited\n" })
        #expect(daemon.docker("rm", "-f", "orphaned").status == 0)
        #expect(SmallRead.list(daemon.dir + "/run/runtime/berth-runtime").filter { !$0.hasPrefix("@") }.isEmpty)
    }

    /// berthd killed while the runtime starts a container: after a restart neither the shim, nor
    /// the runtime's container, nor the stuck runtime call is left, and the record is not running.
    @Test func aStartInterruptedByTheDaemonsDeathIsCleanedUp() throws {
        let daemon = try DaemonHarness("midstart") { dir in
            let runtime = (try? CrashRecoveryTests.hangingRuntime(in: dir, hangOn: "start")) ?? ""
            return #"{"runtimes": {"hang-start": {"path": "\#(runtime)"}}}"#
        }
        defer {
            for pid in Self.hungProcesses(daemon.dir) { kill(pid, SIGKILL) }
            daemon.shutdown()
        }
        #expect(daemon.docker("create", "--name", "midway", "--runtime", "hang-start", "--network", "none", "busybox", "sleep", "600").status == 0)
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "midway").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let outcome = Recorder<CapturedRun>()
        let starting = Thread { outcome.add(daemon.docker("start", "midway", timeout: 30)) }
        starting.start()
        #expect(Command.eventually(timeout: 20) { !Self.hungProcesses(daemon.dir).isEmpty },
                "the runtime never got start: \(outcome.all) \(daemon.log.suffix(1000))")
        let runtimeState = daemon.dir + "/run/runtime/hang-start/" + id
        #expect(FileManager.default.fileExists(atPath: runtimeState))
        daemon.kill9()
        try daemon.start()
        #expect(Self.hungProcesses(daemon.dir).isEmpty, "the stuck runtime call outlived the restart")
        #expect(Self.shimProcesses(daemon.dir).isEmpty, "a shim without a running record outlived the restart")
        #expect(!FileManager.default.fileExists(atPath: runtimeState), "the runtime still holds the container")
        #expect(daemon.docker("inspect", "-f", "{{.State.Running}}", "midway").stdout == "false\n")
        #expect(daemon.docker("rm", "-f", "midway").status == 0)
    }

    /// A runtime that never finishes `create`: the start fails after `start-timeout`, and what it
    /// started (shim, runtime call) is gone.
    @Test func aHungRuntimeTimesOutAndIsCleanedUp() throws {
        let daemon = try DaemonHarness("hangcreate") { dir in
            let runtime = (try? CrashRecoveryTests.hangingRuntime(in: dir, hangOn: "create")) ?? ""
            return #"{"start-timeout": 2, "runtimes": {"hang-create": {"path": "\#(runtime)"}}}"#
        }
        defer {
            for pid in Self.hungProcesses(daemon.dir) { kill(pid, SIGKILL) }
            daemon.shutdown()
        }
        let run = daemon.docker("run", "-d", "--name", "stuck", "--runtime", "hang-create", "--network", "none", "busybox", "true", timeout: 60)
        #expect(!run.timedOut)
        #expect(run.status != 0)
        #expect(run.stderr.contains("did not create it within 2 seconds"), "\(run.stderr)")
        #expect(Self.hungProcesses(daemon.dir).isEmpty, "the hung runtime call is still running")
        #expect(Self.shimProcesses(daemon.dir).isEmpty, "the shim of the failed start is still running")
        #expect(daemon.docker("rm", "-f", "stuck").status == 0)
    }

    /// A commit freezes the container; berthd dies before thawing it: the restart thaws it.
    @Test func aCommitInterruptedByTheDaemonsDeathLeavesNothingFrozen() throws {
        let daemon = try DaemonHarness("commitkill")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "thawme", "--network", "none", "busybox", "sleep", "600").status == 0)
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "thawme").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        daemon.kill9()
        // The state a commit leaves between its freeze and its thaw.
        let runtimeRoot = daemon.dir + "/run/runtime/berth-runtime"
        let marker = daemon.dir + "/data/containers/\(id)/commit-frozen"
        #expect(FileManager.default.createFile(atPath: marker, contents: Data()))
        #expect(Command.capture([DaemonHarness.binaries + "/berth-runtime", "--root", runtimeRoot, "pause", id]).status == 0)
        try daemon.start()
        let state = Command.capture([DaemonHarness.binaries + "/berth-runtime", "--root", runtimeRoot, "state", id]).stdout
        #expect(state.contains(#""status":"running""#) || state.contains(#""status" : "running""#), "\(state)")
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "thawme").stdout == "running\n")
        #expect(daemon.docker("exec", "thawme", "echo", "thawed", timeout: 20).stdout == "thawed\n")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aSecondDaemonOnTheSameStoreIsRefused() throws {
        let daemon = try DaemonHarness("twice")
        defer { daemon.shutdown() }
        let second = Command.capture([DaemonHarness.binaries + "/berthd", "-H", "unix://\(daemon.dir)/second.sock",
                                      "--data-root", daemon.dir + "/data", "--exec-root", daemon.dir + "/run2",
                                      "--config-file", daemon.dir + "/none.json"], timeout: 20)
        #expect(!second.timedOut)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another berthd (pid \(daemon.pid)) is using \(daemon.dir)/data"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: daemon.dir + "/second.sock"))
        #expect(daemon.api("GET", "/_ping").body == "OK")
        try? FileManager.default.removeItem(atPath: daemon.dir + "/run2")
    }
}

/// Directory listing that treats a missing directory as empty.
enum SmallRead {
    static func list(_ path: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }
}
