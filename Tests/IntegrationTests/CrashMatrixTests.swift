import BerthTestSupport
import Foundation
import Testing

/// kill -9 of berthd in the middle of each operation that changes state, then a restart: what is
/// left must be consistent. No process, runtime state, mount or cgroup without a running record;
/// every record inspectable; running containers still reachable; no temporary file left.
@Suite("crash consistency: kill -9 of berthd mid-operation")
struct CrashMatrixTests {
    enum Stage: String, CaseIterable, Sendable {
        case create, start, parallelRun, load, commit, rm
    }

    @Test(arguments: Stage.allCases)
    func killedMidway(_ stage: Stage) throws {
        let daemon = try DaemonHarness("kill-\(stage.rawValue)")
        // Containers of this test live under their own cgroup parent, so that cgroups left behind
        // can be told from those of tests running alongside.
        let parent = "/berth-matrix-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        defer {
            daemon.shutdown()
            for controller in SmallRead.list("/sys/fs/cgroup") { rmdir("/sys/fs/cgroup/\(controller)\(parent)") }
        }
        let run = ["--cgroup-parent", parent, "--network", "none"]
        let data = daemon.dir + "/data"
        var operations: [[String]] = []
        let trigger: () -> Bool
        switch stage {
        case .create:
            operations = (0..<6).map { ["create", "--name", "made\($0)"] + run + ["busybox", "sleep", "600"] }
            trigger = { SmallRead.list(data + "/containers").count >= 1 }
        case .start:
            for index in 0..<6 { daemon.docker(["create", "--name", "go\(index)"] + run + ["busybox", "sleep", "600"]) }
            operations = (0..<6).map { ["start", "go\($0)"] }
            trigger = { !CrashRecoveryTests.shimProcesses(daemon.dir).isEmpty }
        case .parallelRun:
            operations = (0..<8).map { ["run", "-d", "--name", "par\($0)"] + run + ["busybox", "sleep", "600"] }
            trigger = { !CrashRecoveryTests.shimProcesses(daemon.dir).isEmpty }
        case .load:
            daemon.docker("rmi", "busybox")
            operations = [["load", "-i", TestEnvironment.testData + "/busybox.tar"]]
            trigger = { SmallRead.list(data + "/tmp").contains { $0.hasPrefix("load") } }
        case .commit:
            daemon.docker(["run", "-d", "--name", "committed"] + run + ["busybox", "sh", "-c", "echo data > /made; sleep 600"])
            operations = (0..<3).map { ["commit", "committed", "snap:\($0)"] }
            trigger = { SmallRead.list(data + "/tmp").contains { $0.hasPrefix("commit") } || SmallRead.list(data + "/containers").contains { SmallRead.list(data + "/containers/" + $0).contains("commit-frozen") } }
        case .rm:
            for index in 0..<6 { daemon.docker(["run", "-d", "--name", "gone\(index)"] + run + ["busybox", "sleep", "600"]) }
            operations = (0..<6).map { ["rm", "-f", "gone\($0)"] }
            trigger = { SmallRead.list(data + "/containers").count < 6 }
        }
        let clients = DispatchGroup()
        for arguments in operations {
            clients.enter()
            Thread { _ = daemon.docker(arguments, timeout: 60); clients.leave() }.start()
        }
        let triggered = Command.eventually(timeout: 30, trigger)
        daemon.kill9()
        #expect(triggered, "the operation never got under way")
        // Every client has failed or finished before the restart: none may land on the new daemon.
        #expect(clients.wait(timeout: .now() + 60) == .success)
        try daemon.start()
        try Self.expectConsistent(daemon, cgroupParent: parent)
    }

    /// The invariants a restarted berthd must restore, whatever the moment of the crash.
    static func expectConsistent(_ daemon: DaemonHarness, cgroupParent: String) throws {
        let ids = daemon.docker("ps", "-aq", "--no-trunc").stdout.split(separator: "\n").map(String.init)
        var running: Set<String> = []
        for id in ids {
            let state = daemon.docker("inspect", "-f", "{{.State.Status}}", id)
            #expect(state.status == 0, "record \(id) is not inspectable: \(state.stderr)")
            if state.stdout == "running\n" { running.insert(id) }
        }
        for shim in CrashRecoveryTests.shimProcesses(daemon.dir) {
            let command = String(decoding: FileManager.default.contents(atPath: "/proc/\(shim)/cmdline") ?? Data(), as: UTF8.self)
            #expect(running.contains { command.contains($0) }, "a shim without a running record: \(command)")
        }
        for runtime in SmallRead.list(daemon.dir + "/run/runtime") {
            for id in SmallRead.list(daemon.dir + "/run/runtime/" + runtime) where !id.hasPrefix("@") {
                #expect(running.contains(id), "runtime state without a running record: \(runtime)/\(id)")
            }
        }
        let mounts = TestEnvironment.mountTable().split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }
            .filter { $0.hasPrefix(daemon.dir + "/data/snapshots/containers/") }
        for mount in mounts {
            #expect(running.contains { mount.contains($0) }, "a container root mounted without a running record: \(mount)")
        }
        for controller in SmallRead.list("/sys/fs/cgroup") {
            for id in SmallRead.list("/sys/fs/cgroup/\(controller)\(cgroupParent)") where id.count == 64 {
                #expect(running.contains(id), "a cgroup without a running record: \(controller)\(cgroupParent)/\(id)")
            }
        }
        #expect(SmallRead.list(daemon.dir + "/data/tmp").isEmpty, "temporary files survived: \(SmallRead.list(daemon.dir + "/data/tmp"))")
        for id in running {
            #expect(daemon.docker("exec", id, "true", timeout: 20).status == 0, "running container \(id) cannot be reached")
        }
        // And the daemon still works (a load killed mid-way may have left no busybox).
        if daemon.docker("image", "inspect", "busybox").status != 0 {
            #expect(daemon.docker("load", "-i", TestEnvironment.testData + "/busybox.tar").status == 0)
        }
        #expect(daemon.docker("run", "--rm", "--network", "none", "busybox", "true").status == 0)
    }
}
