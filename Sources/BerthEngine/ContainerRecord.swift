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

    /// Go's zero time, which Docker prints for "never".
    public static let zeroTime = "0001-01-01T00:00:00Z"

    public var running: Bool { status == .running || status == .paused || status == .restarting }

    /// Docker's `State` object.
    public var json: JSONValue {
        .object([
            "Status": .string(status.rawValue),
            "Running": .bool(running),
            "Paused": .bool(status == .paused),
            "Restarting": .bool(status == .restarting),
            "OOMKilled": .bool(oomKilled),
            "Dead": .bool(status == .dead),
            "Pid": .int(Int64(pid)),
            "ExitCode": .int(Int64(exitCode)),
            "Error": .string(error),
            "StartedAt": .string(startedAt),
            "FinishedAt": .string(finishedAt),
        ])
    }
}

extension Date {
    /// RFC 3339 with nanoseconds, as Go's `time.RFC3339Nano` prints UTC times.
    public var rfc3339Nano: String {
        let seconds = timeIntervalSince1970
        let whole = floor(seconds)
        return Date.rfc3339(seconds: Int(whole), nanoseconds: Int((seconds - whole) * 1e9))
    }

    static func rfc3339(seconds: Int, nanoseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                          parts.tm_hour, parts.tm_min, parts.tm_sec)
        if nanoseconds > 0 {
            var fraction = String(format: "%09d", nanoseconds)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    /// Parses RFC 3339 (with or without fractional seconds) or Unix seconds (`since`/`until` filters).
    public static func parseTimestamp(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        // Nanosecond fractions are more than ISO8601DateFormatter reads: trim to milliseconds.
        if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            let fraction = text[text.index(after: dot)..<end].prefix(3)
            return parseTimestamp(String(text[..<dot]) + "." + fraction + String(text[end...]))
        }
        return nil
    }
}
