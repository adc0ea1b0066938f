import BerthOCI
import Foundation
import Glibc
import Testing

@Suite("berth-runtime lifecycle")
struct LifecycleTests {
    @Test("run: PID 1, own hostname, only the container's processes, exit code passed through")
    func runBasics() throws {
        let h = try RuntimeHarness("basics")
        defer { h.cleanup() }
        var spec = h.spec(["sh", "-c", "echo pid=$$; hostname; ls /proc | grep -c '^[0-9]'; exit 3"])
        spec.hostname = "box-one"
        let result = try h.run("basics", spec)
        #expect(result.status == 3, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "pid=1")
        #expect(lines.dropFirst().first == "box-one")
        // sh and the ls of the pipeline (grep may already see itself): nothing of the host.
        #expect(Int(lines.last ?? "") ?? 99 <= 3)
    }

    @Test("create, state, start, kill, delete follow runc's states; delete leaves no cgroup")
    func createStartKillDelete() throws {
        let h = try RuntimeHarness("states")
        defer { h.cleanup() }
        let id = h.id("states")
        let bundle = try h.bundle(id, h.spec(["sleep", "60"]))
        let created = try h.runtime(["create", "--bundle", bundle, "--pid-file", h.dir + "/pid", id])
        #expect(created.status == 0, "\(created.stderr)")
        var state = try h.state(id)
        #expect(state["status"] as? String == "created")
        let pid = state["pid"] as? Int ?? 0
        #expect(pid > 0)
        #expect((try? String(contentsOfFile: h.dir + "/pid", encoding: .utf8)) == "\(pid)")
        #expect(try h.runtime(["start", id]).status == 0)
        state = try h.state(id)
        #expect(state["status"] as? String == "running")
        // A second start is refused.
        #expect(try h.runtime(["start", id]).status != 0)
        // A running container cannot be deleted without --force.
        let refused = try h.runtime(["delete", id])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("not stopped"))
        #expect(try h.runtime(["kill", id, "KILL"]).status == 0)
        #expect(try RuntimeHarness.waitFor { (try h.state(id))["status"] as? String == "stopped" })
        let cgroup = RuntimeHarness.cgroupFile(id, v1: "pids", "cgroup.procs", v2: "cgroup.procs")
        #expect(FileManager.default.fileExists(atPath: cgroup))
        #expect(try h.runtime(["delete", id]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: cgroup))
        #expect(try h.runtime(["state", id]).status != 0)
    }

    /// The helper and the container's init are OOM-killed under a 1-byte limit; the runtime held
    /// their end of the setup channel and waited for a message forever (berthd's start hung).
    @Test("a memory limit too low to start the container fails at once, naming the OOM killer, and leaves nothing")
    func memoryTooLowToStart() throws {
        let h = try RuntimeHarness("oomstart")
        defer { h.cleanup() }
        let id = h.id("oomstart")
        var spec = h.spec(["true"])
        spec.linux?.resources = .init(memory: .init(limit: 1))
        let result = try h.runtime(["run", "--bundle", try h.bundle(id, spec), id], timeout: 30)
        #expect(result.status == 1)
        #expect(result.stderr.contains("OOM killer"), "\(result.stderr)")
        #expect(try h.runtime(["state", id]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: RuntimeHarness.cgroupFile(id, v1: "memory", "cgroup.procs", v2: "cgroup.procs")))
    }

    @Test("list shows containers in table and JSON form")
    func list() throws {
        let h = try RuntimeHarness("list")
        defer { h.cleanup() }
        let id = h.id("listed")
        #expect(try h.runtime(["run", "-d", "--bundle", try h.bundle(id, h.spec(["sleep", "60"])), id]).status == 0)
        let table = try h.runtime(["list"])
        #expect(table.stdout.hasPrefix("ID"))
        #expect(table.stdout.contains(id))
        #expect(table.stdout.contains("running"))
        let json = try h.runtime(["list", "--format", "json"])
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(entries?.first?["id"] as? String == id)
        #expect(try h.runtime(["list", "-q"]).stdout == id + "\n")
    }

    @Test("exec joins the container's namespaces and returns the exit code")
    func exec() throws {
        let h = try RuntimeHarness("exec")
        defer { h.cleanup() }
        let id = h.id("exec")
        #expect(try h.runtime(["run", "-d", "--bundle", try h.bundle(id, h.spec(["sleep", "60"])), id]).status == 0)
        let pid = try h.state(id)["pid"] as? Int ?? 0
        let inside = try h.runtime(["exec", id, "sh", "-c", "for n in pid mnt uts ipc net cgroup; do readlink /proc/self/ns/$n; done; exit 4"])
        #expect(inside.status == 4, "\(inside.stderr)")
        let expected = try ["pid", "mnt", "uts", "ipc", "net", "cgroup"].map {
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\($0)")
        }
        #expect(inside.stdout.split(separator: "\n").map(String.init) == expected)
        // The exec'd process sees the container's processes: init is PID 1 and it runs sleep.
        let ps = try h.runtime(["exec", id, "cat", "/proc/1/cmdline"])
        #expect(ps.stdout.hasPrefix("sleep"))
        let missing = try h.runtime(["exec", id, "no-such-program"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("executable file not found"))
        let json = try h.runtime(["ps", "--format", "json", id])
        let pids = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [Int]
        #expect(pids == [pid])
        let table = try h.runtime(["ps", id])
        #expect(table.stdout.split(separator: "\n").first?.contains("PID") == true)
        #expect(table.stdout.contains("sleep 60"))

        // --process: a runtime-spec process document.
        let processFile = h.dir + "/process.json"
        try #"{"args": ["sh", "-c", "echo $FOO:$(id -u):$PWD"], "env": ["FOO=bar"], "cwd": "/tmp", "user": {"uid": 1234, "gid": 1234}}"#
            .write(toFile: processFile, atomically: true, encoding: .utf8)
        let fromFile = try h.runtime(["exec", "--process", processFile, id])
        #expect(fromFile.stdout == "bar:1234:/tmp\n", "\(fromFile.stderr)")

        // -d returns at once; --pid-file names the process, which runs in the container.
        let pidFile = h.dir + "/exec.pid"
        #expect(try h.runtime(["exec", "-d", "--pid-file", pidFile, id, "sleep", "59"]).status == 0)
        let execPid = Int32((try String(contentsOfFile: pidFile, encoding: .utf8))) ?? 0
        #expect(execPid > 0)
        #expect(RuntimeHarness.waitFor { ((try? h.runtime(["ps", "--format", "json", id]).stdout) ?? "").contains("\(execPid)") })

        // A container an older runtime created kept its spec inside state.json: exec still works.
        let directory = h.root + "/" + id
        let spec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/spec.json")))
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/state.json"))) as? [String: Any])
        state["spec"] = spec
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: directory + "/state.json"))
        try FileManager.default.removeItem(atPath: directory + "/spec.json")
        let legacy = try h.runtime(["exec", id, "cat", "/proc/1/cmdline"])
        #expect(legacy.status == 0 && legacy.stdout.hasPrefix("sleep"), "\(legacy.stderr)")
    }

    @Test("pause freezes every process and resume thaws them")
    func pauseResume() throws {
        let h = try RuntimeHarness("pause")
        defer { h.cleanup() }
        let out = h.dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var spec = h.spec(["sh", "-c", "while true; do echo x >> /out/ticks; usleep 5000; done"])
        spec.mounts?.append(.init(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
        let id = h.id("pause")
        #expect(try h.runtime(["run", "-d", "--bundle", try h.bundle(id, spec), id]).status == 0)
        func ticks() -> Int { ((try? String(contentsOfFile: out + "/ticks", encoding: .utf8)) ?? "").count }
        #expect(RuntimeHarness.waitFor { ticks() > 0 })
        #expect(try h.runtime(["pause", id]).status == 0)
        #expect(try h.state(id)["status"] as? String == "paused")
        let frozen = ticks()
        usleep(200_000)
        #expect(ticks() == frozen)
        #expect(try h.runtime(["resume", id]).status == 0)
        #expect(try h.state(id)["status"] as? String == "running")
        #expect(RuntimeHarness.waitFor { ticks() > frozen })
    }

    @Test("update changes limits of a running container")
    func update() throws {
        let h = try RuntimeHarness("update")
        defer { h.cleanup() }
        let id = h.id("update")
        #expect(try h.runtime(["run", "-d", "--bundle", try h.bundle(id, h.spec(["sleep", "60"])), id]).status == 0)
        #expect(try h.runtime(["update", "--pids-limit", "7", "--memory", "67108864", id]).status == 0)
        #expect(try RuntimeHarness.cgroupValue(id, v1: "pids", "pids.max", v2: "pids.max") == "7")
        #expect(try RuntimeHarness.cgroupValue(id, v1: "memory", "memory.limit_in_bytes", v2: "memory.max") == "67108864")
        let resources = #"{"pids": {"limit": 9}}"#
        #expect(try h.runtime(["update", "-r", "-", id], stdin: resources).status == 0)
        #expect(try RuntimeHarness.cgroupValue(id, v1: "pids", "pids.max", v2: "pids.max") == "9")
    }

    @Test("bad input: missing bundle, invalid JSON, duplicate id, unknown container")
    func badInput() throws {
        let h = try RuntimeHarness("bad")
        defer { h.cleanup() }
        let noBundle = try h.runtime(["create", "--bundle", h.dir + "/nope", "x1"])
        #expect(noBundle.status == 1)
        #expect(noBundle.stderr.contains("nope"))
        let id = h.id("badjson")
        let bundle = try h.bundle(id, h.spec(["true"]))
        try "{\"ociVersion\": \"1.2.0\", \"process\": 5}".write(toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
        let bad = try h.runtime(["create", "--bundle", bundle, id])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("invalid config.json"))
        #expect(bad.stderr.contains("process"))
        // Nothing left behind by the failed create.
        #expect(try h.runtime(["list", "-q"]).stdout.isEmpty)
        let dup = h.id("dup")
        let dupBundle = try h.bundle(dup, h.spec(["sleep", "60"]))
        #expect(try h.runtime(["create", "--bundle", dupBundle, dup]).status == 0)
        let again = try h.runtime(["create", "--bundle", dupBundle, dup])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        #expect(try h.runtime(["kill", "ghost"]).stderr.contains("does not exist"))
        #expect(try h.runtime(["create", "--bundle", dupBundle, "../escape"]).stderr.contains("invalid container id"))
        // The shim's commands skip ArgumentParser, except for mistakes, which get its messages.
        let missing = try h.runtime(["delete"])
        #expect(missing.status == 1 && missing.stderr.contains("Missing expected argument '<id>'"), "\(missing.stderr)")
        let badSignal = try h.runtime(["kill", dup, "SIGBOGUS"])
        #expect(badSignal.status == 1 && badSignal.stderr.contains("unknown signal \"SIGBOGUS\""), "\(badSignal.stderr)")
        #expect(try h.runtime(["start", "--what", dup]).stderr.contains("Unknown option '--what'"))
        // runc's spellings: globals after the command, `--flag=value`, short flags.
        let state = try RuntimeHarness.command([RuntimeHarness.binary, "state", "--root=" + h.root, dup])
        #expect(state.status == 0 && state.stdout.contains("\"created\""), "\(state.stderr)")
        #expect(try RuntimeHarness.command([RuntimeHarness.binary, "delete", "-f", "--root", h.root, dup]).status == 0)
        #expect(try h.runtime(["list", "-q"]).stdout.isEmpty)
    }

    @Test("errors go to --log as JSON lines with level and msg, as containerd's shim reads them")
    func jsonLog() throws {
        let h = try RuntimeHarness("jsonlog")
        defer { h.cleanup() }
        let log = h.dir + "/log.json"
        let result = try h.runtime(["--log", log, "--log-format", "json", "start", "missing"])
        #expect(result.status == 1)
        let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(entry?["level"] == "error")
        #expect(entry?["msg"] == "container does not exist")
        #expect(entry?["time"] != nil)
    }

    @Test("features describes the runtime; spec writes a default config.json once")
    func featuresAndSpec() throws {
        let h = try RuntimeHarness("features")
        defer { h.cleanup() }
        let features = try h.runtime(["features"])
        let object = try JSONSerialization.jsonObject(with: Data(features.stdout.utf8)) as? [String: Any]
        #expect(object?["ociVersionMax"] as? String == RuntimeSpec.version)
        let linux = object?["linux"] as? [String: Any]
        #expect((linux?["namespaces"] as? [String])?.contains("user") == true)
        #expect((linux?["capabilities"] as? [String])?.contains("CAP_SYS_ADMIN") == true)
        #expect(try h.runtime(["spec", "--bundle", h.dir]).status == 0)
        let spec = try JSONDecoder().decode(RuntimeSpec.self, from: Data(contentsOf: URL(fileURLWithPath: h.dir + "/config.json")))
        #expect(spec.process?.args == ["sh"])
        #expect(spec.root?.path == "rootfs")
        let again = try h.runtime(["spec", "--bundle", h.dir])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists"))
    }

    @Test("signals reach PID 1: forwarded by a foreground run, and sent by kill")
    func signals() throws {
        let h = try RuntimeHarness("signals")
        defer { h.cleanup() }
        let script = "trap 'echo got-$SIG; exit 3' TERM; trap 'echo got-usr1' USR1; echo ready; while true; do usleep 10000; done"
        let id = h.id("fwd")
        let bundle = try h.bundle(id, h.spec(["sh", "-c", script.replacingOccurrences(of: "$SIG", with: "term")]))
        let out = h.dir + "/fwd.out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: RuntimeHarness.binary)
        runner.arguments = ["--root", h.root, "run", "--bundle", bundle, id]
        runner.standardOutput = FileHandle(forWritingAtPath: out)
        try runner.run()
        func output() -> String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
        #expect(RuntimeHarness.waitFor { output().contains("ready") })
        kill(runner.processIdentifier, SIGUSR1)
        #expect(RuntimeHarness.waitFor { output().contains("got-usr1") })
        kill(runner.processIdentifier, SIGTERM)
        #expect(RuntimeHarness.waitFor { !runner.isRunning })
        if runner.isRunning { runner.terminate() }
        runner.waitUntilExit()
        #expect(runner.terminationStatus == 3)
        #expect(output().contains("got-term"))

        let detached = h.id("killed")
        let log = h.dir + "/killed.out"
        let started = try h.runtime(["run", "-d", "--bundle", try h.bundle(detached, h.spec(["sh", "-c", script.replacingOccurrences(of: "$SIG", with: "term")])), detached],
                                    shellPrefix: "exec >\(log);")
        #expect(started.status == 0)
        #expect(RuntimeHarness.waitFor { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("ready") })
        #expect(try h.runtime(["kill", detached, "TERM"]).status == 0)
        #expect(try RuntimeHarness.waitFor { (try h.state(detached))["status"] as? String == "stopped" })
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("got-term"))
    }

    /// kill -9 of a daemon kills its shim and the `create` it was running: the runtime's
    /// directory and cgroup stayed, and `delete --force` answered "does not exist".
    @Test("delete --force cleans up a create that was killed before it saved the state")
    func deleteAfterAnInterruptedCreate() throws {
        let h = try RuntimeHarness("interrupted")
        defer { h.cleanup() }
        let id = h.id("interrupted")
        let marker = h.dir + "/in-hook"
        var spec = h.spec(["true"])
        spec.hooks = .init(prestart: [.init(path: "/bin/sh", args: ["sh", "-c", "echo $$ > \(marker); exec sleep 30"])])
        let bundle = try h.bundle(id, spec)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let argv = [RuntimeHarness.binary, "--root", h.root, "create", "--bundle", bundle, id]
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, argv[0], &actions, nil, args, environ) == 0 && pid > 0)
        let reachedHook = RuntimeHarness.waitFor(20) { FileManager.default.fileExists(atPath: marker) }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try #require(reachedHook)
        let cgroup = RuntimeHarness.cgroupFile(id, v1: "pids", "cgroup.procs", v2: "cgroup.procs")
        #expect(FileManager.default.fileExists(atPath: h.root + "/" + id))
        #expect(FileManager.default.fileExists(atPath: cgroup))
        let deleted = try h.runtime(["delete", "--force", id])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: h.root + "/" + id))
        #expect(!FileManager.default.fileExists(atPath: cgroup))
        // The hook's `sleep` outlives the killed runtime: ended by the pid it wrote.
        if let hookPid = pid_t((try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""), hookPid > 0 {
            kill(hookPid, SIGKILL)
        }
    }
}
