import BerthOCI
import BerthRuntime
import BerthTestSupport
import Foundation
import Glibc

/// What a command printed and how it exited.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the real `berth-runtime` binary against a private `--root` and temporary bundles.
///
/// Each harness owns a fresh directory; `cleanup()` force-deletes every container it created
/// and removes the directory, so tests can run in parallel and leave nothing behind.
final class RuntimeHarness: @unchecked Sendable {
    static var packageRoot: String { TestEnvironment.packageRoot }

    static var binary: String {
        ProcessInfo.processInfo.environment["BERTH_RUNTIME_BIN"] ?? TestEnvironment.binaries + "/berth-runtime"
    }

    /// The busybox rootfs built by scripts/build-test-images.sh (built on first use).
    static var rootfs: String { TestEnvironment.testData + "/busybox/rootfs" }

    let dir: String
    let root: String
    private(set) var ids: [String] = []

    init(_ name: String) throws {
        dir = "/tmp/berth-rt-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        root = dir + "/state"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
    }

    /// A container id unique to this harness.
    func id(_ name: String) -> String {
        let id = "\(name)-\(UInt32.random(in: 0...UInt32.max))"
        ids.append(id)
        return id
    }

    /// The spec every test starts from: runc's defaults on the busybox rootfs, read-only, with a /tmp tmpfs.
    func spec(_ args: [String]) -> RuntimeSpec {
        var spec = DefaultSpec.make()
        spec.root = .init(path: Self.rootfs, readonly: true)
        spec.process?.terminal = false
        spec.process?.args = args
        spec.mounts?.append(.init(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]))
        return spec
    }

    /// Writes a bundle for `id` and returns its directory.
    func bundle(_ id: String, _ spec: RuntimeSpec) throws -> String {
        var spec = spec
        if spec.linux?.cgroupsPath == nil { spec.linux?.cgroupsPath = "/berth-test/\(id)" }
        let path = dir + "/bundles/" + id
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(spec).write(to: URL(fileURLWithPath: path + "/config.json"))
        return path
    }

    /// Writes a bundle whose config.json is `spec` as JSON, edited by hand: for fields and values
    /// the typed model would not produce (what other engines write).
    func bundle(_ id: String, _ spec: RuntimeSpec, editJSON: (inout [String: Any]) -> Void) throws -> String {
        let path = try bundle(id, spec)
        let file = URL(fileURLWithPath: path + "/config.json")
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] else {
            throw HarnessError.command("config.json of \(id) is not an object")
        }
        editJSON(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: file)
        return path
    }

    /// Runs `berth-runtime --root <root> args…`, optionally through `sh -c` with a prefix such as `exec 5</;`.
    @discardableResult
    func runtime(_ args: [String], shellPrefix: String? = nil, stdin: String? = nil, timeout: TimeInterval = 60,
                 binary: String = RuntimeHarness.binary) throws -> CommandResult {
        let argv = [binary, "--root", root] + args
        if let shellPrefix {
            let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            return try Self.command(["/bin/sh", "-c", "\(shellPrefix) exec \(quoted)"], stdin: stdin, timeout: timeout)
        }
        return try Self.command(argv, stdin: stdin, timeout: timeout)
    }

    /// Creates the bundle and runs the container in the foreground.
    func run(_ name: String, _ spec: RuntimeSpec) throws -> CommandResult {
        let id = self.id(name)
        return try runtime(["run", "--bundle", try bundle(id, spec), id])
    }

    /// Runs a command with stdout/stderr in files (detached containers may keep pipes open).
    static func command(_ argv: [String], stdin: String? = nil, timeout: TimeInterval = 60) throws -> CommandResult {
        let tag = UUID().uuidString
        let outPath = "/tmp/berth-out-\(tag)", errPath = "/tmp/berth-err-\(tag)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(2000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            throw HarnessError.timeout(argv.joined(separator: " "))
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return CommandResult(status: p.terminationStatus, stdout: out, stderr: err)
    }

    /// The `state` JSON of a container.
    func state(_ id: String) throws -> [String: Any] {
        let result = try runtime(["state", id])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw HarnessError.command("state \(id): \(result.stderr)")
        }
        return object
    }

    /// Polls `condition` every 10 ms for up to `seconds`.
    static func waitFor(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }

    /// Whether the host mounts cgroup v2 at /sys/fs/cgroup (else v1 hierarchies).
    static let unifiedCgroups = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")

    /// A control file of container `id`'s cgroup: the v1 controller's file, or the v2 name.
    static func cgroupFile(_ id: String, v1 controller: String, _ v1File: String, v2 v2File: String) -> String {
        unifiedCgroups ? "/sys/fs/cgroup/berth-test/\(id)/\(v2File)" : "/sys/fs/cgroup/\(controller)/berth-test/\(id)/\(v1File)"
    }

    static func cgroupValue(_ id: String, v1 controller: String, _ v1File: String, v2 v2File: String) throws -> String {
        try String(contentsOfFile: cgroupFile(id, v1: controller, v1File, v2: v2File), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The runtime binary through a read-only bind mount under this harness's directory, as
    /// berthd runs it: the runtime then forks its helper instead of re-executing a protected copy.
    func readOnlyBinary() throws -> String {
        let path = dir + "/berth-runtime"
        guard FileManager.default.createFile(atPath: path, contents: nil),
              mount(Self.binary, path, nil, UInt(MS_BIND), nil) == 0,
              mount(nil, path, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) == 0 else {
            throw HarnessError.command("read-only bind of \(Self.binary): errno \(errno)")
        }
        return path
    }

    func cleanup() {
        for id in ids { _ = try? runtime(["delete", "--force", id]) }
        umount2(dir + "/berth-runtime", Int32(MNT_DETACH))
        try? FileManager.default.removeItem(atPath: dir)
        // The shared parent cgroups go once empty (rmdir fails while another test still uses them).
        let roots = ["/sys/fs/cgroup"] + ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [])
            .map { "/sys/fs/cgroup/" + $0 }
        for root in roots { rmdir(root + "/berth-test") }
    }
}

enum HarnessError: Error {
    case timeout(String)
    case command(String)
}
