import Foundation

/// A container's `Config.Healthcheck` with Docker's defaults filled in (durations in seconds).
struct HealthCheck: Sendable {
    /// The probe's argv: `CMD` runs as is, `CMD-SHELL` through `/bin/sh -c`.
    var command: [String]
    var interval = 30.0
    var timeout = 30.0
    var startPeriod = 0.0
    var startInterval = 5.0
    var retries = 3

    /// `nil` when the container has no probe (none configured, or `NONE`).
    init?(_ config: JSONValue?) {
        guard let config, let test = config["Test"]?.strings, let kind = test.first else { return nil }
        switch kind {
        case "CMD" where test.count > 1: command = Array(test.dropFirst())
        case "CMD-SHELL" where test.count > 1: command = ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")]
        default: return nil
        }
        func seconds(_ key: String) -> Double? {
            config[key]?.int.flatMap { $0 > 0 ? Double($0) / 1e9 : nil }
        }
        interval = seconds("Interval") ?? interval
        timeout = seconds("Timeout") ?? timeout
        startPeriod = seconds("StartPeriod") ?? startPeriod
        startInterval = seconds("StartInterval") ?? startInterval
        if let count = config["Retries"]?.int, count > 0 { retries = Int(count) }
    }

    /// Docker keeps at most this much of a probe's output, and this many results.
    static let maxOutput = 4096
    static let maxLog = 5
}

/// `State.Health`, with Docker's field names.
public struct HealthState: Codable, Sendable, Equatable {
    public struct Probe: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
        public var exitCode: Int32
        public var output: String
    }

    public var status = "starting"
    public var failingStreak = 0
    public var log: [Probe] = []

    /// Records one probe's result; a failure inside the start period does not count.
    mutating func record(_ probe: Probe, retries: Int, inStartPeriod: Bool) {
        log.append(probe)
        if log.count > HealthCheck.maxLog { log.removeFirst(log.count - HealthCheck.maxLog) }
        if probe.exitCode == 0 {
            status = "healthy"
            failingStreak = 0
        } else if !inStartPeriod {
            failingStreak += 1
            if failingStreak >= retries { status = "unhealthy" }
        }
    }

    /// The API's `State.Health`.
    var model: Health {
        var health = Health()
        health.status = status
        health.failingStreak = Int64(failingStreak)
        health.log = log.map { probe in
            var result = HealthcheckResult()
            result.start = probe.start
            result.end = probe.end
            result.exitCode = Int64(probe.exitCode)
            result.output = probe.output
            return result
        }
        return health
    }
}
