import BerthImages
import BerthNetwork
import BerthOCI
import BerthRuntime
import BerthSystem
import Foundation
import Synchronization

/// Where an attach connects once its container runs: the shim's socket. The attacher calls
/// `connected()` after sending its `ATTACH` line, so that start sends `START` only then.
public struct AttachTicket: Sendable {
    public let socketPath: String
    let ready: AsyncStream<Void>.Continuation

    public func connected() { ready.finish() }
}

extension ContainerEngine {
    // MARK: Start

    public func start(_ reference: String) async throws {
        let id = try resolve(reference)
        await waitUntilFree(id)
        guard var record = containers[id] else { throw EngineError.noSuchContainer(reference) }
        if record.state.running { throw EngineError(.notModified, "container already started") }
        occupy(id)
        defer { release(id) }
        let image = try images.resolve(record.image)
        do {
            let joined = try joinedNamespaces(record)
            if joined.network != nil { try shareNetworkFiles(record) }
            try checkLegacyLinks(record)
            let spec = try await prepareRun(try withLinkEnvironment(record), chain: image.chain, joined: joined)
            record.state.pid = try await shims.launch(record, spec: spec)
            if record.connectsToNetwork { try await attachNetworks(&record) }
            await handOffAttaches(id, socket: shims.shim(id).socketPath)
            try await shims.shim(id).request(.start)
        } catch {
            // A shim whose START failed still holds the created container: its end deletes it.
            // A shim that never answered (a hung runtime) is ended with whatever it started.
            if record.state.pid > 0 { await EngineLog.attempt("kill the failed start of \(record.name)") { try await shims.signal(id, SIGKILL) } }
            else if let runtime = try? config.runtimePath(record.runtime) { await shims.destroy(id, runtimePath: runtime) }
            record.state.pid = 0
            await detachNetworks(record)
            record.endpoints = [:]
            images.snapshots.unmountContainer(id)
            unmountShm(id)
            releaseVolumes(of: record)
            let failure = Self.startFailure(error)
            record.state.error = failure.error.message
            record.state.exitCode = failure.exitCode
            EngineLog.attempt("record the failed start of \(record.name)") { try save(record) }
            failAttaches(id, error)
            // `run --rm` waits for the removal; Docker removes an auto-remove container whose start failed.
            if record.autoRemove {
                await EngineLog.attempt("remove \(record.name) after its failed start (--rm)") { try await removeNow(id, reference: id, force: true) }
            }
            // Removed while it started (its files went with it): for the client it is gone.
            if containers[id] == nil, !record.autoRemove { throw EngineError.noSuchContainer(reference) }
            throw failure.error
        }
        record.state.status = .running
        record.state.error = ""
        record.state.exitCode = 0
        record.state.oomKilled = false
        record.state.health = HealthCheck(record.config.healthcheck?.json) == nil ? nil : HealthState()
        record.state.startedAt = Date().rfc3339Nano
        record.state.finishedAt = ContainerRunState.zeroTime
        record.manuallyStopped = nil
        try save(record)
        if record.endpoints["bridge"] != nil { refreshLinkers(of: record) }
        stopping.remove(id)
        await publish("start", record)
        monitor(id)
        startHealthMonitor(id)
    }

    /// dockerd's reading of a failed start: a program or file that is not there is the
    /// container's config (400, exit code 127), as is one that cannot be run (400, 126) or a
    /// file mounted over a directory (400, with dockerd's hint); anything else is the daemon's
    /// (500, 128).
    static func startFailure(_ error: any Error) -> (error: EngineError, exitCode: Int32) {
        let engineError = error as? EngineError ?? EngineError(.internalError, "\(error)", cause: error)
        guard engineError.kind == .internalError else { return (engineError, 128) }
        let text = engineError.message.lowercased()
        if ["executable file not found", "no such file or directory", "system cannot find the file specified"].contains(where: text.contains) {
            return (EngineError(.badRequest, engineError.message, cause: engineError.cause), 127)
        }
        if text.contains("permission denied") { return (EngineError(.badRequest, engineError.message, cause: engineError.cause), 126) }
        if text.contains("not a directory") {
            let hint = ": Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"
            return (EngineError(.badRequest, engineError.message + hint, cause: engineError.cause), 128)
        }
        return (engineError, 128)
    }

    /// Mounts the container's root, creates missing bind sources, resolves its user and builds
    /// its spec: file system work, done off the actor (a start of one container does not hold
    /// up requests for the others).
    private nonisolated func prepareRun(_ record: ContainerRecord, chain: [Digest], joined: JoinedNamespaces) async throws -> RuntimeSpec {
        let rootfs: String
        do { rootfs = try images.snapshots.mountContainer(record.id, chain: chain) } catch {
            throw EngineError(.internalError, "mount the root filesystem of \(record.name): \(error)")
        }
        let runsInit = record.hostConfig.`init` ?? config.initByDefault
        try BindSpecification.prepareSources(record.hostConfig)
        let user = try UserResolver(rootfs: rootfs).resolve(record.config.user ?? "", extraGroups: record.hostConfig.groupAdd ?? [])
        try copyUp(record, rootfs: rootfs)
        var imageRoots: [Int: String] = [:]
        for (index, entry) in try SpecBuilder.mountEntries(record.hostConfig).enumerated() {
            guard let reference = entry.imageReference else { continue }
            do {
                imageRoots[index] = try images.snapshots.mountImage(for: record.id, index: index, chain: try images.resolve(reference).chain)
            } catch {
                throw EngineError(.internalError, "mount image \(reference) at \(entry.target): \(error)")
            }
        }
        return try SpecBuilder(record: record, rootfs: rootfs, user: user, initBinary: runsInit ? config.binaryDirectory + "/berth-init" : nil,
                               defaultSeccomp: defaultSeccomp, joined: joined,
                               devices: try HostDevices.resolve(record.hostConfig, privileged: record.hostConfig.privileged ?? false),
                               imageRoots: imageRoots, remap: config.remap,
                               volumesRoot: volumes.root).build()
    }

    /// Returns once no start (or copy) holds the root of `id`.
    func waitUntilFree(_ id: String) async {
        while occupied[id] != nil {
            await withCheckedContinuation { occupied[id, default: []].append($0) }
        }
    }

    /// Holds the root of `id` (the caller has waited until it was free, in the same actor turn).
    func occupy(_ id: String) { occupied[id] = [] }

    func release(_ id: String) {
        for waiter in occupied.removeValue(forKey: id) ?? [] { waiter.resume() }
    }

    /// Keeps a `WAIT` open on the shim; its answer (or the shim vanishing) is the container's exit.
    func monitor(_ id: String) {
        let shims = self.shims
        Task {
            await shims.waitForExit(id)
            await self.containerExited(id)
        }
    }

    func containerExited(_ id: String) async {
        guard let seen = containers[id], seen.state.running else { return }
        let exit = shims.shim(id).recordedExit()
        if exit == nil {
            if shims.shim(id).isAlive {
                // The WAIT broke but the shim still serves (a transient failure): wait again.
                try? await Task.sleep(seconds: 0.1)
                if containers[id]?.state.running == true { monitor(id) }
                return
            }
            // The shim died (kill -9, OOM) without seeing an exit: the container may still run,
            // and nothing else would ever stop it.
            if let runtime = try? config.runtimePath(seen.runtime) { await shims.destroy(id, runtimePath: runtime) }
        }
        guard var record = containers[id], record.state.running else { return }
        exiting.insert(id)
        stopHealthMonitor(id)
        let stoppedByUser = stopping.remove(id) != nil
        // The exit code first: `on-failure` decides by it.
        record.state.exitCode = exit?.code ?? 255
        let restarts = !record.autoRemove && !stoppedByUser && shouldRestart(record)
        // As dockerd: from its exit to its next start, a container to be restarted is
        // `restarting` (not removable without force), never `exited`.
        record.state.status = restarts ? .restarting : .exited
        record.state.oomKilled = exit?.oomKilled ?? false
        record.state.finishedAt = exit?.finishedAt ?? Date().rfc3339Nano
        record.state.pid = 0
        // Its veth went with its namespace; the address is given back below.
        let attached = record
        record.endpoints = [:]
        if exit == nil { record.state.error = "the container's shim exited without recording an exit status" }
        unmountShm(id)
        releaseVolumes(of: record)
        if record.autoRemove {
            // Its removal comes next and discards the root in the background; a crash before
            // that leaves the record running, and start-up finds the exit and removes it all the same.
            containers[id] = record
        } else {
            // Before the first suspension point: a start that slipped in later would have its
            // new root unmounted.
            images.snapshots.unmountContainer(id)
            EngineLog.attempt("remove the bundle of \(record.name)") { try FileManager.default.removeItem(atPath: shims.bundle(id)) }
            EngineLog.attempt("record the exit of \(record.name)") { try save(record) }
        }
        await detachNetworks(attached)
        if record.state.oomKilled { await publish("oom", record) }
        await publish("die", record, extra: ["exitCode": String(record.state.exitCode)])
        exiting.remove(id)
        for waiter in exitWaiters.removeValue(forKey: .container(id)) ?? [] { waiter.resume(record.state.exitCode) }
        if record.autoRemove {
            await EngineLog.attempt("remove \(record.name) after its exit (--rm)") { try await remove(id, force: true) }
        } else if restarts, var current = containers[id] {
            current.restartCount += 1
            EngineLog.attempt("record the restart count of \(current.name)") { try save(current) }
            scheduleRestart(id, after: nextRestartDelay(current))
        }
    }

    /// dockerd's backoff: 100 ms before the first restart, doubled before each next one up to a
    /// minute; a run of 10 s or more starts it again from 100 ms.
    private func nextRestartDelay(_ record: ContainerRecord) -> Double {
        var delay = restartDelays[record.id] ?? 0
        if let started = Date.parseTimestamp(record.state.startedAt), let finished = Date.parseTimestamp(record.state.finishedAt),
           finished.timeIntervalSince(started) >= 10 {
            delay = 0
        }
        delay = delay == 0 ? 0.1 : min(delay * 2, 60)
        restartDelays[record.id] = delay
        return delay
    }

    private func endRestart(_ id: String) {
        guard var record = containers[id], record.state.status == .restarting else { return }
        record.state.status = .exited
        EngineLog.attempt("record the failed restart of \(record.name)") { try save(record) }
    }

    /// Starts a `restarting` container after `delay` seconds, unless it was stopped or removed
    /// meanwhile.
    func scheduleRestart(_ id: String, after delay: Double) {
        Task {
            try? await Task.sleep(seconds: delay)
            guard self.containers[id]?.state.status == .restarting else { return }
            do { try await self.start(id) } catch {
                // A restart that cannot start leaves the container exited, not restarting forever.
                EngineLog.logger.warning("restart \(id) (restart policy): \(error)")
                self.endRestart(id)
            }
        }
    }

    private func shouldRestart(_ record: ContainerRecord) -> Bool {
        let policy = record.hostConfig.restartPolicy
        switch policy?.name ?? "no" {
        case "always", "unless-stopped": return true
        case "on-failure": return record.state.exitCode != 0 && underRetryLimit(record)
        default: return false
        }
    }

    /// `on-failure:N`: fewer than N restarts so far (any number without N).
    func underRetryLimit(_ record: ContainerRecord) -> Bool {
        let maximum = record.hostConfig.restartPolicy?.maximumRetryCount ?? 0
        return maximum == 0 || record.restartCount < maximum
    }

    // MARK: Stop, kill, restart, pause

    public func stop(_ reference: String, timeout: Int?, signal: String?) async throws {
        try await stop(reference, timeout: timeout, signal: signal, byUser: true)
    }

    /// `byUser` is false for the daemon's own stops (at shutdown without live restore), which
    /// leave an `unless-stopped` container to be started again at the next daemon start.
    func stop(_ reference: String, timeout: Int?, signal: String?, byUser: Bool) async throws {
        let id = try resolve(reference)
        var record = containers[id]!
        if byUser { try markManuallyStopped(&record) }
        if record.state.status == .restarting {
            // Its process has exited already: stopping cancels the restart.
            record.state.status = .exited
            try save(record)
            await publish("stop", record)
            return
        }
        guard record.state.running else { throw EngineError(.notModified, "container already stopped") }
        stopping.insert(id)
        let name = signal ?? record.config.stopSignal ?? "SIGTERM"
        guard let number = Signals.number(name) else { throw EngineError(.badRequest, "invalid signal: \(name)") }
        let seconds = timeout ?? record.config.stopTimeout.map(Int.init) ?? 10
        if record.state.status == .paused { await EngineLog.attempt("unpause \(record.name) to stop it") { try await setPaused(id, false) } }
        await EngineLog.attempt("signal \(record.name) with \(name)") { try await shims.signal(id, number) }
        if seconds < 0 {
            _ = await exitOfRunning(id)
        } else if await exitOfRunning(id, timeout: Double(seconds)) == nil {
            await EngineLog.attempt("kill \(record.name) after its stop timeout") { try await shims.signal(id, SIGKILL, all: true) }
            _ = await exitOfRunning(id)
        }
        await publish("stop", containers[id] ?? record)
    }

    public func kill(_ reference: String, signal: String?) async throws {
        let id = try resolve(reference)
        var record = containers[id]!
        guard record.state.running else { throw EngineError(.conflict, "cannot kill container: \(reference): container \(id) is not running") }
        let name = signal.flatMap { $0.isEmpty ? nil : $0 } ?? "SIGKILL"
        guard let number = Signals.number(name) else { throw EngineError(.badRequest, "invalid signal: \(name)") }
        // As dockerd: any kill counts as the user's stop for `unless-stopped`.
        try markManuallyStopped(&record)
        if number == SIGKILL || number == SIGTERM { stopping.insert(id) }
        do { try await shims.signal(id, number, all: number == SIGKILL) } catch let error as EngineError where error.kind == .conflict {
            // It exited between the check above and the signal.
            throw EngineError(.conflict, "cannot kill container: \(reference): container \(id) is not running")
        }
        await publish("kill", record, extra: ["signal": String(number)])
        // As dockerd: a SIGKILL is answered once it has taken effect (bounded), so an inspect
        // right after shows the container stopped.
        if number == SIGKILL { _ = await exitOfRunning(id, timeout: 10) }
    }

    private func markManuallyStopped(_ record: inout ContainerRecord) throws {
        // A user's stop ends the backoff: a later exit starts again from 100 ms.
        restartDelays[record.id] = nil
        guard record.manuallyStopped != true else { return }
        record.manuallyStopped = true
        try save(record)
    }

    public func restart(_ reference: String, timeout: Int?, signal: String?) async throws {
        let id = try resolve(reference)
        if containers[id]?.state.running == true { try await stop(id, timeout: timeout, signal: signal) }
        do { try await start(id) } catch let error as EngineError where error.kind == .notModified {
            // A concurrent restart started it after this one's stop: restarted all the same.
        }
        // Records are re-read after every suspension point: a concurrent removal may have run.
        if let record = containers[id] { await publish("restart", record) }
    }

    public func pause(_ reference: String, _ paused: Bool) async throws {
        let id = try resolve(reference)
        let record = containers[id]!
        guard record.state.running else { throw EngineError(.conflict, "Container \(id) is not running") }
        if paused && record.state.status == .paused { throw EngineError(.conflict, "Container \(id) is already paused") }
        if !paused && record.state.status != .paused { throw EngineError(.conflict, "Container \(id) is not paused") }
        try await setPaused(id, paused)
        if let record = containers[id] { await publish(paused ? "pause" : "unpause", record) }
    }

    func setPaused(_ id: String, _ paused: Bool) async throws {
        do { try await freeze(id, paused) } catch where !(containers[id]?.state.running ?? false) || shims.shim(id).recordedExit() != nil {
            // It exited while the runtime froze it: the client hears what it would have heard a moment later.
            throw EngineError(.conflict, "Container \(id) is not running")
        }
        // Not the copy from before the call: the container may have exited meanwhile.
        guard var current = containers[id], current.state.running else { return }
        current.state.status = paused ? .paused : .running
        try save(current)
    }

    /// Freezes or thaws the container's processes through the runtime, without touching its record
    /// (a commit's freeze is not a user's pause).
    func freeze(_ id: String, _ paused: Bool) async throws {
        guard let record = containers[id] else { throw EngineError.noSuchContainer(id) }
        try await shims.freeze(record, paused)
    }

    // MARK: Wait

    /// Docker's wait conditions: `not-running` (default), `next-exit`, `removed`. Returns the exit code.
    public func wait(_ reference: String, condition: String) async throws -> Int32 {
        let id = try resolve(reference)
        let record = containers[id]!
        switch condition {
        case "", "not-running":
            // As dockerd: a container that is not running (created or exited) answers at once.
            if !record.state.running { return record.state.exitCode }
            return await waitForExit(id)
        case "next-exit":
            return await waitForExit(id)
        case "removed":
            return await withCheckedContinuation { removalWaiters[id, default: []].append($0) }
        default:
            throw EngineError(.badRequest, "invalid condition: \"\(condition)\"")
        }
    }

    func waitForExit(_ id: String) async -> Int32 {
        await waitForExit(.container(id), timeout: nil) ?? 255
    }

    /// For a container seen running before a suspension point (a request to its shim): its exit
    /// code at once if the exit was recorded meanwhile, since a waiter registered after the exit
    /// is never woken; otherwise as `waitForExit`.
    func exitOfRunning(_ id: String, timeout: Double? = nil) async -> Int32? {
        // An exit half recorded (its networks still being released) is waited for to its end:
        // `rm -f` must not answer while the container's published ports are still programmed.
        guard let record = containers[id], record.state.running || exiting.contains(id) else { return containers[id]?.state.exitCode ?? 255 }
        return await waitForExit(.container(id), timeout: timeout)
    }

    /// The exit code, or `nil` if the process still runs after `timeout` seconds.
    func waitForExit(_ key: ProcessKey, timeout: Double?) async -> Int32? {
        await withCheckedContinuation { continuation in
            let waiter = ExitWaiter(continuation)
            exitWaiters[key, default: []].append(waiter)
            if let timeout {
                Task {
                    try? await Task.sleep(seconds: timeout)
                    waiter.resume(nil)
                }
            }
        }
    }

    // MARK: Attach, resize

    /// The shim socket to attach to; for a container not started yet, waits until `start`.
    ///
    /// The attachment is registered when this returns (not when the ticket is awaited): a
    /// client that attaches before `start` and starts at once must get the hand-off, or it
    /// would wait for a start that has already happened.
    public func reserveAttach(_ reference: String) throws -> AsyncThrowingStream<AttachTicket, Error> {
        let id = try resolve(reference)
        let (tickets, continuation) = AsyncThrowingStream<AttachTicket, Error>.makeStream()
        if containers[id]!.state.running {
            let (_, ready) = AsyncStream<Void>.makeStream()
            continuation.yield(AttachTicket(socketPath: shims.shim(id).socketPath, ready: ready))
            continuation.finish()
        } else {
            pendingAttaches[id, default: []].append(continuation)
        }
        return tickets
    }

    private func handOffAttaches(_ id: String, socket: String) async {
        for pending in pendingAttaches.removeValue(forKey: id) ?? [] {
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            // A client that went before its hijack is not waited for.
            if case .terminated = pending.yield(AttachTicket(socketPath: socket, ready: continuation)) { continue }
            pending.finish()
            // Output must not start before the client listens; a client that never connects delays by 5 s at most.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for await _ in stream {} }
                group.addTask { try? await Task.sleep(nanoseconds: 5_000_000_000) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func failAttaches(_ id: String, _ error: Error) {
        for pending in pendingAttaches.removeValue(forKey: id) ?? [] { pending.finish(throwing: error) }
    }

    public func resize(_ reference: String, height: Int, width: Int) async throws {
        let id = try resolve(reference)
        guard containers[id]!.state.running else { throw EngineError.notRunning(id) }
        try await shims.resize(id, height: height, width: width)
    }
}

/// A continuation resumed once, by the exit or by a timeout, whichever comes first.
final class ExitWaiter: Sendable {
    private let continuation: Mutex<CheckedContinuation<Int32?, Never>?>

    init(_ continuation: CheckedContinuation<Int32?, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ code: Int32?) {
        let pending = continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }
        pending?.resume(returning: code)
    }
}
