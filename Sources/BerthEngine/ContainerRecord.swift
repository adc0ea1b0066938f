import Foundation

/// A container as berthd stores it in `containers/<id>/config.v2.json` and reports it on inspect.
public struct ContainerRecord: Codable, Sendable {
    public var id: String
    /// Without the leading `/`.
    public var name: String
    public var created: String
    public var path: String
    public var args: [String]
    /// `sha256:…` of the image config.
    public var image: String
    public var config: JSONValue
    public var hostConfig: JSONValue
    public var state: ContainerState
    public var restartCount: Int
    public var logPath: String
    public var hostnamePath: String
    public var hostsPath: String
    public var resolvConfPath: String
    public var execIDs: [String]
    /// The runtime binary the container was started with (`berth-runtime`, `runc`, `crun`).
    public var runtime: String

    public init(id: String, name: String, created: String, path: String, args: [String], image: String,
                config: JSONValue, hostConfig: JSONValue, runtime: String, directory: String) {
        self.id = id
        self.name = name
        self.created = created
        self.path = path
        self.args = args
        self.image = image
        self.config = config
        self.hostConfig = hostConfig
        self.runtime = runtime
        state = ContainerState()
        restartCount = 0
        logPath = "\(directory)/\(id)-json.log"
        hostnamePath = "\(directory)/hostname"
        hostsPath = "\(directory)/hosts"
        resolvConfPath = "\(directory)/resolv.conf"
        execIDs = []
    }

    /// 64 hex digits, the form of container and exec IDs.
    public static func newID() -> String {
        (0..<4).map { _ in
            let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    public var tty: Bool { config["Tty"]?.bool ?? false }
    public var labels: [String: String] {
        (config["Labels"]?.object ?? [:]).compactMapValues(\.string)
    }
    public var imageName: String { config["Image"]?.string ?? image }
    public var autoRemove: Bool { hostConfig["AutoRemove"]?.bool ?? false }
    public var networkMode: String { hostConfig["NetworkMode"]?.string ?? "default" }
}

/// `State` of a container, with Docker's field names and status words.
public struct ContainerState: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case created, running, paused, restarting, removing, exited, dead }

    public var status: Status = .created
    public var pid: Int32 = 0
    public var exitCode: Int32 = 0
    public var error: String = ""
    public var oomKilled = false
    public var startedAt = ContainerState.zeroTime
    public var finishedAt = ContainerState.zeroTime
    /// Present while a container with a health check runs (and after, with its last results).
    public var health: HealthState?

    /// Go's zero time, which Docker prints for "never".
    public static let zeroTime = "0001-01-01T00:00:00Z"

    /// Whether a process of the container runs (a restarting container's does not, yet).
    public var running: Bool { status == .running || status == .paused }

    /// Docker's `State` object.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "Status": .string(status.rawValue),
            // dockerd counts a container waiting to be restarted as running.
            "Running": .bool(running || status == .restarting),
            "Paused": .bool(status == .paused),
            "Restarting": .bool(status == .restarting),
            "OOMKilled": .bool(oomKilled),
            "Dead": .bool(status == .dead),
            "Pid": .int(Int64(pid)),
            "ExitCode": .int(Int64(exitCode)),
            "Error": .string(error),
            "StartedAt": .string(startedAt),
            "FinishedAt": .string(finishedAt),
        ]
        if let health { object["Health"] = health.json }
        return .object(object)
    }
}

extension Date {
    /// RFC 3339 with nanoseconds, as Go's `time.RFC3339Nano` prints UTC times.
    public var rfc3339Nano: String {
        // Clamped to years 0001–9999: a client's time (an image's `created`) may be anything.
        let seconds = timeIntervalSince1970.isFinite ? max(-62_135_596_800, min(timeIntervalSince1970, 253_402_300_799)) : 0
        let whole = floor(seconds)
        return Date.rfc3339(seconds: Int(whole), nanoseconds: Int((seconds - whole) * 1e9))
    }

    /// Whole seconds since 1970, for `Created` fields: never traps, whatever time a client's
    /// image config gave (`1e300` would overflow an Int64).
    public var unixSeconds: Int64 {
        let seconds = timeIntervalSince1970
        guard seconds.isFinite else { return 0 }
        return Int64(max(-9.2e18, min(seconds, 9.2e18)))
    }

    static func rfc3339(seconds: Int, nanoseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
        if nanoseconds > 0 {
            var fraction = pad(Int32(nanoseconds), 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    /// Zero-padded decimal (no `String(format:)`: it would load ICU's data into the daemon).
    static func pad(_ value: Int32, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Parses RFC 3339 (`2026-11-22T10:00:00.123456789Z`, `…+01:00`) or Unix seconds
    /// (`since`/`until` filters).
    public static func parseTimestamp(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int32? {
            guard range.upperBound <= bytes.count else { return nil }
            return Int32(String(decoding: bytes[range], as: UTF8.self))
        }
        guard bytes.count >= 19, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        var seconds = Double(timegm(&parts))
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            var end = index + 1
            while end < bytes.count, bytes[end] >= 48, bytes[end] <= 57 { end += 1 }
            seconds += Double("0" + String(decoding: bytes[index..<end], as: UTF8.self)) ?? 0
            index = end
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"),
           let offsetHours = number(index + 1..<index + 3), let offsetMinutes = number(index + 4..<index + 6) {
            let offset = Double(offsetHours * 3600 + offsetMinutes * 60)
            seconds += bytes[index] == UInt8(ascii: "+") ? -offset : offset
        }
        return Date(timeIntervalSince1970: seconds)
    }

}
