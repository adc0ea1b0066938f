import BerthOCI
import BerthRuntime
import BerthSystem
import Foundation
import Glibc

/// The processes under the engine: the shims that run containers and execs (spawned,
/// signalled, waited for, attached to) and the OCI runtime's commands that no shim runs
/// (pause, update, ps, a health probe's exec, delete). It keeps no state: the engine actor owns
/// the containers' state and calls in here for every process it starts or ends, and each call
/// runs off the actor's executor (its waits and subprocesses never hold the actor).
struct ShimSupervisor: Sendable {
    let config: DaemonConfig

    /// Short directory names keep `shim.sock` and `console.sock` within a socket path's 107 bytes.
    func shim(_ id: String) -> ShimClient { ShimClient(directory: "\(config.execRoot)/shims/\(id.prefix(20))") }
    /// An exec's shim lives beside the containers' shims, under `x` and the exec's ID.
    func execShim(_ id: String) -> ShimClient { shim("x" + id) }
    func bundle(_ id: String) -> String { "\(config.execRoot)/bundles/\(id)" }
    /// Each runtime keeps its state under its own root, named after its binary.
    func runtimeRoot(_ runtimePath: String) -> String {
        "\(config.execRoot)/runtime/\(runtimePath.split(separator: "/").last.map(String.init) ?? runtimePath)"
    }
    private var binary: String { config.binaryDirectory + "/berth-shim" }

    // MARK: Containers

    /// Writes the container's bundle and starts its shim, which runs `runtime create`; returns
    /// the container's PID. The process starts at the shim's `START`.
    func launch(_ record: ContainerRecord, spec: RuntimeSpec) async throws -> Int32 {
        let id = record.id
        try FileManager.default.createDirectory(atPath: bundle(id), withIntermediateDirectories: true)
        try SmallFile.writeAtomically(bundle(id) + "/config.json", Array(try JSONEncoder().encode(spec)), durability: .volatile)
        let shim = shim(id)
        // The previous run's shim answers waiters before it deletes the runtime's container of
        // the same ID (and unlinks its socket last): a quick restart waits for it to go.
        await shim.departure(timeout: .seconds(5))
        try? FileManager.default.removeItem(atPath: shim.directory)
        return try await ShimClient.spawn(binary, arguments: try arguments(record, directory: shim.directory), timeout: config.startTimeout)
    }

    private func arguments(_ record: ContainerRecord, directory: String) throws -> [String] {
        let runtime = try config.runtimePath(record.runtime)
        var arguments = ["--id", record.id, "--bundle", bundle(record.id), "--dir", directory,
                         "--runtime", runtime, "--runtime-root", runtimeRoot(runtime)]
        if let log = record.jsonFileLog {
            arguments += ["--log", record.logPath] + log.shimArguments(attributes: log.attributes(of: record))
        }
        if record.tty { arguments.append("--tty") }
        if record.config.openStdin ?? false { arguments.append("--stdin") }
        if record.config.stdinOnce ?? false { arguments.append("--stdin-once") }
        if let oomFile = CgroupFactory.memoryEventsFile(cgroupsPath: SpecBuilder.cgroupsPath(record)) { arguments += ["--oom-file", oomFile] }
        return arguments
    }

    /// Returns when the container's process has exited (the shim's answer to `WAIT`) or its
    /// shim has gone.
    func waitForExit(_ id: String) async {
        _ = try? await shim(id).request(.wait)
    }

    func signal(_ id: String, _ signal: Int32, all: Bool = false) async throws {
        try await shim(id).request(.kill(signal: signal, all: all))
    }

    func resize(_ id: String, height: Int, width: Int) async throws {
        try await shim(id).request(.resize(height: height, width: width))
    }

    /// Ends a container that its runtime may still hold when no shim will: SIGKILL to any shim
    /// left for it, then `delete --force` through the runtime (its processes, its cgroup and its
    /// state go).
    func destroy(_ id: String, runtimePath: String) async {
        for shim in ShimProcess.all(under: config.execRoot + "/shims") where shim.containerID == id { shim.killSession() }
        let result = await runtime(runtimePath, ["delete", "--force", id], timeout: 20)
        if result.status != 0 && !result.output.contains("does not exist") {
            EngineLog.logger.warning("runtime delete --force \(id): \(result.output)")
        }
    }

    /// Freezes or thaws the container's processes.
    func freeze(_ record: ContainerRecord, _ paused: Bool) async throws {
        let result = await runtime(try config.runtimePath(record.runtime), [paused ? "pause" : "resume", record.id], timeout: 30)
        guard result.status == 0 else { throw EngineError(.internalError, "\(paused ? "pause" : "unpause") \(record.name): \(result.output)") }
    }

    /// The host PIDs of the container's processes.
    func processes(_ record: ContainerRecord) async throws -> [Int] {
        let listed = await runtime(try config.runtimePath(record.runtime), ["ps", "--format", "json", record.id])
        guard listed.status == 0, let pids = try? JSONDecoder().decode([Int].self, from: Data(listed.output.utf8)) else {
            throw EngineError(.internalError, "list the processes of \(record.name): \(listed.output)")
        }
        return pids
    }

    /// Applies new limits to a running container. False when it exited meanwhile (the runtime
    /// has it stopped or deleted): the limits then apply at its next start.
    func update(_ record: ContainerRecord, resources: RuntimeSpec.Resources, scratch: String) async throws -> Bool {
        defer { unlink(scratch) }
        try SmallFile.writeAtomically(scratch, Array(try JSONEncoder().encode(resources)), durability: .volatile)
        let result = await runtime(try config.runtimePath(record.runtime), ["update", "--resources", scratch, record.id])
        if result.status == 0 { return true }
        if result.output.contains("container not running") || result.output.contains("container does not exist") { return false }
        throw EngineError(.internalError, "Cannot update container \(record.id): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    /// Runs a health probe's process inside the container (`runtime exec`); on timeout the
    /// probe itself is killed, not only the runtime (which would orphan it).
    func probe(_ record: ContainerRecord, processPath: String, pidPath: String, timeout: Double) async throws -> Subprocess.Result {
        let runtime = try config.runtimePath(record.runtime)
        unlink(pidPath)
        return await self.runtime(runtime, ["exec", "--process", processPath, "--pid-file", pidPath, record.id], timeout: timeout) {
            if let text = try? SmallFile.read(pidPath), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
                _ = Glibc.kill(pid, SIGKILL)
            }
        }
    }

    private func runtime(_ path: String, _ arguments: [String], timeout: Double? = nil,
                         onTimeout: (@Sendable () -> Void)? = nil) async -> Subprocess.Result {
        await Subprocess.run([path, "--root", runtimeRoot(path)] + arguments, timeout: timeout, onTimeout: onTimeout)
    }

    // MARK: Execs

    /// The spec the container runs with (an exec's process starts from its process).
    func bundledSpec(_ record: ContainerRecord) throws -> RuntimeSpec {
        guard let data = FileManager.default.contents(atPath: bundle(record.id) + "/config.json"),
              let spec = try? JSONDecoder().decode(RuntimeSpec.self, from: data) else {
            throw EngineError(.internalError, "the bundle of container \(record.name) is missing")
        }
        return spec
    }

    /// Starts an exec's shim with `process` (not running yet: `START` runs it) and returns it.
    func launchExec(_ execID: String, in record: ContainerRecord, process: RuntimeSpec.Process, tty: Bool, stdin: Bool) async throws -> ShimClient {
        let shim = execShim(execID)
        try FileManager.default.createDirectory(atPath: shim.directory, withIntermediateDirectories: true)
        let processPath = shim.directory + "/process.json"
        try SmallFile.writeAtomically(processPath, Array(try JSONEncoder().encode(process)), durability: .volatile)
        let runtime = try config.runtimePath(record.runtime)
        var arguments = ["--id", record.id, "--bundle", bundle(record.id), "--dir", shim.directory, "--runtime", runtime,
                         "--runtime-root", runtimeRoot(runtime), "--exec-process", processPath]
        if tty { arguments.append("--tty") }
        if stdin { arguments += ["--stdin", "--stdin-once"] }
        _ = try await ShimClient.spawn(binary, arguments: arguments)
        return shim
    }
}
