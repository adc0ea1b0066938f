import BerthSystem
import Foundation
import Glibc

/// Docker's health checks: while a container with a `Healthcheck` runs, its probe runs in it
/// (through the runtime's `exec`) every interval; results become `State.Health` and
/// `health_status` events.
extension ContainerEngine {
    func startHealthMonitor(_ id: String) {
        healthMonitors.removeValue(forKey: id)?.cancel()
        guard let record = containers[id], let check = HealthCheck(record.config.healthcheck?.json) else { return }
        let started = ContinuousClock.now
        healthMonitors[id] = Task { [weak self] in
            var processPath: String?
            while !Task.isCancelled {
                let inStartPeriod = ContinuousClock.now - started < .seconds(check.startPeriod)
                let pause = inStartPeriod && check.startPeriod > 0 ? check.startInterval : check.interval
                try? await Task.sleep(seconds: pause)
                guard !Task.isCancelled, let self else { return }
                // The probe's process spec does not change while the container runs: written once.
                if processPath == nil { processPath = await self.writeProbeProcess(id, check) }
                guard let processPath, let probe = await self.runProbe(id, check, processPath: processPath) else { return }
                await self.recordProbe(id, probe, check: check,
                                       inStartPeriod: ContinuousClock.now - started < .seconds(check.startPeriod))
            }
        }
    }

    func stopHealthMonitor(_ id: String) {
        healthMonitors.removeValue(forKey: id)?.cancel()
        try? FileManager.default.removeItem(atPath: probeDirectory(id))
    }

    private func probeDirectory(_ id: String) -> String { "\(config.execRoot)/health/\(id.prefix(20))" }

    /// The probe as a runtime-spec process file; `nil` when the container no longer runs.
    private func writeProbeProcess(_ id: String, _ check: HealthCheck) -> String? {
        guard let record = containers[id], record.state.status == .running,
              let process = try? execProcess(record, command: check.command, config: .object([:])),
              let encoded = try? JSONEncoder().encode(process) else { return nil }
        let directory = probeDirectory(id)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/process.json"
        return (try? SmallFile.writeAtomically(path, Array(encoded), durability: .volatile)) != nil ? path : nil
    }

    /// One run of the probe; `nil` when the container no longer runs.
    private func runProbe(_ id: String, _ check: HealthCheck, processPath: String) async -> HealthState.Probe? {
        guard let record = containers[id], record.state.status == .running else { return nil }
        let start = Date().rfc3339Nano
        guard let result = try? await shims.probe(record, processPath: processPath, pidPath: probeDirectory(id) + "/pid",
                                                  timeout: check.timeout) else { return nil }
        var output = result.output
        if output.utf8.count > HealthCheck.maxOutput { output = String(decoding: Array(output.utf8.prefix(HealthCheck.maxOutput)), as: UTF8.self) }
        if result.timedOut {
            output = "Health check exceeded timeout (\(HumanDuration.go(check.timeout)))"
        }
        return HealthState.Probe(start: start, end: Date().rfc3339Nano, exitCode: result.timedOut ? -1 : result.status, output: output)
    }

    private func recordProbe(_ id: String, _ probe: HealthState.Probe, check: HealthCheck, inStartPeriod: Bool) async {
        guard var record = containers[id], record.state.running, var health = record.state.health else { return }
        let before = health.status
        health.record(probe, retries: check.retries, inStartPeriod: inStartPeriod)
        record.state.health = health
        EngineLog.attempt("record the health of \(record.name)") { try save(record) }
        if health.status != before { await publish("health_status: \(health.status)", record) }
    }
}
