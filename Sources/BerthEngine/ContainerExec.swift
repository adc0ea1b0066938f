import BerthOCI
import BerthSystem
import Foundation

/// An exec instance (`docker exec`): a process run in a running container through its own shim.
public struct ExecRecord: Sendable {
    public var id: String
    public var containerID: String
    public var config: JSONValue
    public var running = false
    public var exitCode: Int32?
    public var pid: Int32 = 0

    public var tty: Bool { config["Tty"]?.bool ?? false }
}

extension ContainerEngine {
    public func createExec(_ reference: String, body requestBody: JSONValue) async throws -> String {
        let body = GoJSONKeys.canonical(requestBody, GoJSONKeys.execFields)
        let id = try resolve(reference)
        var record = containers[id]!
        guard record.state.running else { throw EngineError(.conflict, "container \(id) is not running") }
        if record.state.status == .paused { throw EngineError(.conflict, "container \(id) is paused, unpause the container before exec") }
        guard let command = body["Cmd"]?.strings, !command.isEmpty else { throw EngineError(.badRequest, "no exec command specified") }
        let execID = ContainerRecord.newID()
        execs[execID] = ExecRecord(id: execID, containerID: id, config: body)
        record.execIDs.append(execID)
        containers[id] = record
        await publish("exec_create", record, extra: ["execID": execID, "exec_command": command.joined(separator: " ")])
        return execID
    }

    public func exec(_ id: String) throws -> ExecRecord {
        guard let exec = execs[id] else { throw EngineError.noSuchExec(id) }
        return exec
    }

    /// Spawns the exec's shim (not yet running the process) and returns its socket for attaching.
    public func prepareExec(_ id: String) async throws -> String {
        guard var exec = execs[id] else { throw EngineError.noSuchExec(id) }
        if exec.running || exec.exitCode != nil { throw EngineError(.conflict, "exec \(id) has already run") }
        guard let record = containers[exec.containerID], record.state.running else { throw EngineError.notRunning(exec.containerID) }
        let config = exec.config
        let process = try execProcess(record, command: config["Cmd"]?.strings ?? [], config: config)
        let shim = try await shims.launchExec(id, in: record, process: process, tty: exec.tty, stdin: config["AttachStdin"]?.bool ?? false)
        exec.running = false
        execs[id] = exec
        return shim.socketPath
    }

    /// The container's process spec from its bundle, turned into `command` with an exec's
    /// `Env`, `User`, `WorkingDir`, `Tty` and `Privileged`.
    func execProcess(_ record: ContainerRecord, command: [String], config: JSONValue) throws -> RuntimeSpec.Process {
        let spec = try shims.bundledSpec(record)
        guard var process = spec.process else { throw EngineError(.internalError, "the bundle of container \(record.name) has no process") }
        process.args = command
        process.terminal = config["Tty"]?.bool ?? false
        process.consoleSize = nil
        var env = process.env ?? []
        for entry in config["Env"]?.strings ?? [] {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            env.removeAll { $0.hasPrefix(key + "=") }
            env.append(entry)
        }
        process.env = env
        if let user = config["User"]?.string, !user.isEmpty, let root = spec.root?.path {
            process.user = try UserResolver(rootfs: root).resolve(user, extraGroups: [])
        }
        if let directory = config["WorkingDir"]?.string, !directory.isEmpty { process.cwd = directory }
        if config["Privileged"]?.bool ?? false {
            let all = HostFacts.current.capabilities
            process.capabilities = .init(bounding: all, effective: all, permitted: all)
        }
        return process
    }


    /// Runs the prepared exec's process; its exit is recorded when the shim reports it.
    /// A process that cannot start is an error for an attached start; a detached one succeeds,
    /// as dockerd's does, and the exit code (127 or 126) is in the exec's inspect.
    public func startExec(_ id: String, detached: Bool = false) async throws {
        guard var exec = execs[id] else { throw EngineError.noSuchExec(id) }
        let shim = shims.execShim(id)
        let reply: String
        do { reply = try await shim.request(.start) } catch {
            // The shim records 127 (no such program) or 126 when the process could not start.
            let recorded = shim.recordedExit()
            exec.exitCode = recorded?.code ?? 126
            execs[id] = exec
            try? FileManager.default.removeItem(atPath: shim.directory)
            if detached && recorded != nil { return }
            throw error
        }
        exec.pid = Int32(reply) ?? 0
        exec.running = true
        execs[id] = exec
        if let record = containers[exec.containerID] { await publish("exec_start", record, extra: ["execID": id]) }
        Task {
            _ = try? await shim.request(.wait)
            await self.execExited(id)
        }
    }

    private func execExited(_ id: String) async {
        guard var exec = execs[id] else { return }
        let shim = shims.execShim(id)
        exec.exitCode = shim.recordedExit()?.code ?? 126
        exec.running = false
        execs[id] = exec
        try? FileManager.default.removeItem(atPath: shim.directory)
        if let record = containers[exec.containerID] {
            await publish("exec_die", record, extra: ["execID": id, "exitCode": String(exec.exitCode!)])
        }
        for waiter in exitWaiters.removeValue(forKey: .exec(id)) ?? [] { waiter.resume(exec.exitCode) }
    }

    /// Waits until an exec's process has exited (after its attach stream ended, the exit may lag a little).
    public func waitExec(_ id: String) async -> Int32? {
        guard let exec = execs[id] else { return nil }
        if let code = exec.exitCode { return code }
        return await waitForExit(.exec(id), timeout: 10)
    }

    public func resizeExec(_ id: String, height: Int, width: Int) async throws {
        guard execs[id] != nil else { throw EngineError.noSuchExec(id) }
        try await shims.execShim(id).request(.resize(height: height, width: width))
    }

    public func inspectExec(_ id: String) throws -> JSONValue {
        guard var exec = execs[id] else { throw EngineError.noSuchExec(id) }
        // Clients inspect as soon as the stream ends; the shim wrote the exit before closing it,
        // while our own monitor may not have heard yet.
        if exec.exitCode == nil, let recorded = shims.execShim(id).recordedExit() {
            exec.running = false
            exec.exitCode = recorded.code
        }
        let command = exec.config["Cmd"]?.strings ?? []
        return .object([
            "ID": .string(exec.id), "Running": .bool(exec.running), "ExitCode": exec.exitCode.map { .int(Int64($0)) } ?? .null,
            "ProcessConfig": .object([
                "tty": .bool(exec.tty), "entrypoint": .string(command.first ?? ""),
                "arguments": .array(command.dropFirst().map(JSONValue.string)),
                "privileged": .bool(exec.config["Privileged"]?.bool ?? false), "user": .string(exec.config["User"]?.string ?? ""),
            ]),
            "OpenStdin": .bool(exec.config["AttachStdin"]?.bool ?? false),
            "OpenStdout": .bool(exec.config["AttachStdout"]?.bool ?? false),
            "OpenStderr": .bool(exec.config["AttachStderr"]?.bool ?? false),
            "CanRemove": .bool(false), "ContainerID": .string(exec.containerID),
            "DetachKeys": .string(exec.config["DetachKeys"]?.string ?? ""), "Pid": .int(Int64(exec.pid)),
        ])
    }
}
