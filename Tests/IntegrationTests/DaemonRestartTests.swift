import BerthTestSupport
import Foundation
import Testing

/// berthd can die at any moment: containers keep running under their shims, and a new
/// berthd finds them, their logs and the exits that happened while it was away.
@Suite("berthd crash and restart")
struct DaemonRestartTests {
    @Test func containersSurviveSigkillOfTheDaemon() throws {
        let daemon = try DaemonHarness("restart")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "keeper", "--network", "none", "busybox",
                              "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "leaver", "--network", "none", "busybox", "sleep", "1000").status == 0)
        #expect(Command.eventually { daemon.docker("logs", "keeper").stdout.contains("tick 2") })
        let pid = daemon.docker("inspect", "-f", "{{.State.Pid}}", "keeper").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let leaverPid = Int32(daemon.docker("inspect", "-f", "{{.State.Pid}}", "leaver").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0

        daemon.kill9()
        // While berthd is down: one container keeps running, the other exits.
        try #require(leaverPid > 0)
        kill(leaverPid, SIGKILL)
        #expect(Command.eventually { kill(leaverPid, 0) != 0 })
        try daemon.start()

        #expect(daemon.docker("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "keeper").stdout == "running \(pid)\n")
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "leaver").stdout == "exited 137\n")
        let logs = daemon.docker("logs", "keeper").stdout
        #expect(logs.hasPrefix("tick 0\ntick 1\ntick 2\n"))
        // Still attachable: the SDK reads new output through the re-found shim.
        let attached = daemon.python("""
            stream = client.containers.get('keeper').attach(stream=True, stdout=True, stderr=True)
            print(next(stream).decode().split()[0])
            """)
        #expect(attached.stdout == "tick\n")
        #expect(daemon.docker("exec", "keeper", "echo", "exec-after-restart").stdout == "exec-after-restart\n")
        #expect(daemon.docker("stop", "-t", "1", "keeper").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "keeper").stdout == "exited\n")
    }

    @Test func removalInterruptedByACrashCompletesOnRestart() throws {
        let daemon = try DaemonHarness("removal")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "--name", "doomed", "--network", "none", "busybox", "true").status == 0)
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "doomed").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        daemon.kill9()
        // The state a crash leaves between "removing" and the directory being gone.
        let recordPath = daemon.dir + "/data/containers/\(id)/config.v2.json"
        let record = try String(contentsOfFile: recordPath, encoding: .utf8)
        try record.replacingOccurrences(of: #""status":"exited""#, with: #""status":"removing""#)
            .write(toFile: recordPath, atomically: true, encoding: .utf8)
        // And a create that died before writing its record.
        try FileManager.default.createDirectory(atPath: daemon.dir + "/data/containers/halfmade", withIntermediateDirectories: true)
        // And a removal that died after its record went: the files it had not deleted yet.
        let leftovers = [daemon.dir + "/data/snapshots/containers/gone/upper", daemon.dir + "/run/bundles/gone", daemon.dir + "/run/shims/gone"]
        for path in leftovers { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        try daemon.start()
        #expect(daemon.docker("ps", "-aq").stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: daemon.dir + "/data/containers/\(id)"))
        #expect(!FileManager.default.fileExists(atPath: daemon.dir + "/data/containers/halfmade"))
        for path in leftovers { #expect(!FileManager.default.fileExists(atPath: path), "\(path)") }
        #expect(daemon.docker("run", "--rm", "--name", "doomed", "--network", "none", "busybox", "true").status == 0)
    }

    @Test func withoutLiveRestoreContainersStopWithTheDaemon() throws {
        let daemon = try DaemonHarness("nolive")
        defer { daemon.shutdown() }
        try #"{"live-restore": false}"#.write(toFile: daemon.dir + "/daemon.json", atomically: true, encoding: .utf8)
        daemon.terminate()
        try daemon.start()
        #expect(daemon.docker("run", "-d", "--name", "stopped-with-daemon", "--init", "--network", "none", "busybox", "sleep", "600").status == 0)
        let pid = Int32(daemon.docker("inspect", "-f", "{{.State.Pid}}", "stopped-with-daemon").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try #require(pid > 0)
        // Until berth-init has blocked signals (before it forks the command), a SIGTERM to a
        // namespace's PID 1 without a handler is dropped by the kernel, as with Docker's tini.
        #expect(Command.eventually { daemon.docker("top", "stopped-with-daemon").stdout.contains("sleep 600") })
        daemon.terminate()
        #expect(kill(pid, 0) != 0, "SIGTERM of berthd stopped the container")
        try daemon.start()
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stopped-with-daemon").stdout == "exited 143\n")

        // After a crash, the next berthd kills what the previous one left running.
        #expect(daemon.docker("start", "stopped-with-daemon").status == 0)
        let second = Int32(daemon.docker("inspect", "-f", "{{.State.Pid}}", "stopped-with-daemon").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try #require(second > 0)
        daemon.kill9()
        #expect(kill(second, 0) == 0)
        try daemon.start()
        #expect(kill(second, 0) != 0)
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stopped-with-daemon").stdout == "exited 137\n")
    }

    @Test("berthd logs through its log level: info shows where it listens, error does not")
    func logLevel() throws {
        let informative = try DaemonHarness("loginfo")
        defer { informative.shutdown() }
        #expect(informative.log.contains("API listening on unix://"), "\(informative.log)")
        let quiet = try DaemonHarness("logerror", daemonJSON: { _ in "{\"log-level\": \"error\"}" }, debug: false)
        defer { quiet.shutdown() }
        #expect(quiet.docker("version").status == 0)
        #expect(!quiet.log.contains("API listening"), "\(quiet.log)")
    }

    @Test("a container record that cannot be read is skipped at start and its files are kept, not taken for an orphan")
    func unreadableRecordIsKept() throws {
        let daemon = try DaemonHarness("unread")
        defer { daemon.shutdown() }
        let created = daemon.docker("create", "--network", "none", "busybox", "true")
        try #require(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        daemon.terminate()
        let directory = daemon.dir + "/data/containers/" + id
        try "{not a record".write(toFile: directory + "/config.v2.json", atomically: true, encoding: .utf8)
        try daemon.start()
        #expect(daemon.docker("version").status == 0)
        #expect(!daemon.docker("ps", "-aq", "--no-trunc").stdout.contains(id))
        #expect(FileManager.default.fileExists(atPath: directory + "/config.v2.json"))
        #expect(daemon.log.contains("cannot be read, skipped"), "\(daemon.log)")
    }
}
