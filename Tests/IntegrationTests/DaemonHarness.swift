import BerthTestSupport
import Foundation
import Glibc

/// A real berthd on a private socket, data root and exec root, with the busybox test image
/// loaded; driven by the real docker CLI and the Python SDK.
final class DaemonHarness: @unchecked Sendable {
    let dir: String
    var socket: String { dir + "/d.sock" }
    var host: String { "unix://" + socket }
    private(set) var pid: pid_t = 0

    static var binaries: String { TestEnvironment.binaries }

    /// `daemonJSON(dir)` is written as the daemon's configuration file before it starts.
    /// berthd runs with `--debug` unless `debug` is false (its log is then at the configured level).
    let debug: Bool
    /// `--default-network`: `none` unless a test asks for a bridge of its own (several daemons
    /// run at once, and each default bridge would be `berth0` on 172.17.0.0/16).
    let defaultNetwork: String?

    init(_ name: String, extraArguments: [String] = [], daemonJSON: ((String) -> String)? = nil, debug: Bool = true,
         defaultNetwork: String? = "none") throws {
        self.debug = debug
        self.defaultNetwork = defaultNetwork
        // Short: shim and console socket paths must fit in sockaddr_un.
        dir = "/tmp/bi-\(name.prefix(8))-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let daemonJSON { try daemonJSON(dir).write(toFile: dir + "/daemon.json", atomically: true, encoding: .utf8) }
        do {
            try start(extraArguments)
            let loaded = docker("load", "-i", TestEnvironment.testData + "/busybox.tar")
            guard loaded.status == 0 else { throw HarnessFailure("docker load: \(loaded.stderr)") }
        } catch {
            // No test gets this daemon to shut down: what it started goes now.
            if pid > 0 {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                pid = 0
            }
            shutdown()
            throw error
        }
    }

    func start(_ extraArguments: [String] = []) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, dir + "/berthd.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = [Self.binaries + "/berthd", "-H", host, "--data-root", dir + "/data", "--exec-root", dir + "/run",
                    "--config-file", dir + "/daemon.json"] + (debug ? ["--debug"] : []) + (defaultNetwork.map { ["--default-network", $0] } ?? [])
            + extraArguments
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        guard posix_spawn(&pid, argv[0], &actions, nil, args, environ) == 0 else { throw HarnessFailure("cannot start berthd") }
        let ready = Command.eventually(timeout: 20) {
            Command.capture(["curl", "-sf", "--unix-socket", socket, "http://x/_ping"], timeout: 2).stdout == "OK"
        }
        if !ready { throw HarnessFailure("berthd did not answer /_ping: \(log)") }
    }

    var log: String { (try? String(contentsOfFile: dir + "/berthd.log", encoding: .utf8)) ?? "" }

    /// SIGTERM, and waits for the daemon to exit.
    func terminate() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// SIGKILL: the daemon dies; containers and their shims live on.
    /// The PIDs of the daemon's helpers named `program` (`berth-shim`, `berth-dns`): those whose
    /// command line names our exec root.
    func helperPIDs(_ program: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let helper = Int32(entry), let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let text = String(decoding: cmdline, as: UTF8.self)
            return text.contains(program + "\u{0}") && text.contains(dir + "/run/") ? helper : nil
        }
    }

    func kill9() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    @discardableResult
    func docker(_ arguments: String..., stdin: String? = nil, timeout: Double = 60) -> CapturedRun {
        Command.capture(["docker"] + arguments, stdin: stdin, environment: ["DOCKER_HOST": host, "DOCKER_CONFIG": dir + "/client"], timeout: timeout)
    }

    /// Berth's own CLI against this daemon.
    @discardableResult
    func berth(_ arguments: String..., stdin: String? = nil, environment: [String: String] = [:], timeout: Double = 60) -> CapturedRun {
        berth(arguments, stdin: stdin, environment: environment, timeout: timeout)
    }

    func berth(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Double = 60) -> CapturedRun {
        Command.capture([Self.binaries + "/berth"] + arguments, stdin: stdin,
                        environment: ["DOCKER_HOST": host, "DOCKER_CONFIG": dir + "/client"].merging(environment) { $1 }, timeout: timeout)
    }

    /// Runs Python with the docker SDK; `client` is connected to this daemon.
    func python(_ code: String, timeout: Double = 60) -> CapturedRun {
        let prelude = "import docker, sys\nclient = docker.DockerClient(base_url='\(host)')\n"
        return Command.capture(["python3", "-c", prelude + code], timeout: timeout)
    }

    /// Raw API call through curl: status code and body.
    func api(_ method: String, _ path: String, body: String? = nil) -> (status: Int, body: String) {
        var argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket", socket, "-X", method]
        if let body { argv += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let result = Command.capture(argv + ["http://x" + path], timeout: 30)
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// Removes every container, stops the daemon and deletes its directories and mounts.
    func shutdown() {
        if pid > 0, kill(pid, 0) == 0 {
            let ids = docker("ps", "-aq").stdout.split(separator: "\n").map(String.init)
            if !ids.isEmpty { docker(["rm", "-f"] + ids) }
            kill(pid, SIGTERM)
            var status: Int32 = 0
            if !Command.eventually(timeout: 10, { waitpid(pid, &status, WNOHANG) == pid }) {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
        }
        // Whatever a failed test left: shims and berth-dns under our exec root, then the
        // runtime's containers.
        for helper in helperPIDs("berth-shim") + helperPIDs("berth-dns") { kill(helper, SIGKILL) }
        let runtimeRoot = dir + "/run/runtime/berth-runtime"
        for id in (try? FileManager.default.contentsOfDirectory(atPath: runtimeRoot)) ?? [] {
            _ = Command.capture([Self.binaries + "/berth-runtime", "--root", runtimeRoot, "delete", "--force", id], timeout: 20)
        }
        // Read again until none is left: while other tests mount and unmount, one read of the
        // table can miss entries.
        for _ in 0..<5 {
            let mounts = TestEnvironment.mountTable()
                .split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst(4).first.map(String.init) }
                .filter { $0.hasPrefix(dir) }.sorted { $0.count > $1.count }
            if mounts.isEmpty { break }
            for mount in mounts { umount2(mount, Int32(MNT_DETACH)) }
        }
        // What the daemon warned of outlives its directory, for a failure to be read afterwards.
        let warnings = log.split(separator: "\n").filter { $0.contains(" warning ") || $0.contains(" error ") }
        if !warnings.isEmpty, let file = FileHandle(forWritingAtPath: Self.warningsPath) ?? {
            FileManager.default.createFile(atPath: Self.warningsPath, contents: nil)
            return FileHandle(forWritingAtPath: Self.warningsPath)
        }() {
            file.seekToEndOfFile()
            file.write(Data(warnings.map { "\(dir): \($0)\n" }.joined().utf8))
            try? file.close()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Where the daemons' warnings and errors are kept after their directories go.
    static let warningsPath = "/tmp/berth-test-daemon-warnings.log"

    func docker(_ arguments: [String], timeout: Double = 60) -> CapturedRun {
        Command.capture(["docker"] + arguments, environment: ["DOCKER_HOST": host, "DOCKER_CONFIG": dir + "/client"], timeout: timeout)
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
