import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation

/// `berth events`: the daemon's event stream, one line per event as docker prints it.
struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Get real time events from the server")
    @Option(name: [.short, .long], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(help: "Format output using a custom template") var format: String?
    @Option(help: "Show all events created since timestamp") var since: String?
    @Option(help: "Stream events until this timestamp") var until: String?

    func run() throws {
        var query = try filtersQuery(filter)
        if let since { query.append(("since", try Timestamps.parse(since))) }
        if let until { query.append(("until", try Timestamps.parse(until))) }
        let template = try format.map { format in
            do { return try GoTemplate(format == "json" ? "{{json .}}" : format) } catch { throw CLIError.message("\(error)", code: 125) }
        }
        try session.client.streamJSONLines("GET", "/events", query: query) { event, _ in
            print(try template.map { try $0.render(event) } ?? Self.line(event))
            fflush(nil)
        }
    }

    /// `2026-11-23T10:00:00.000000000Z container start ID (image=busybox, name=web)`.
    static func line(_ json: JSONValue) -> String {
        let event = EventMessage(json: json)
        let nanos = event.timeNano ?? (event.time ?? 0) * 1_000_000_000
        var text = timestamp(nanos) + " " + (event.type ?? "") + " " + (event.action ?? "")
        text += " " + (event.actor?.id ?? "")
        let attributes = event.actor?.attributes ?? [:]
        if !attributes.isEmpty {
            text += " (" + attributes.keys.sorted().map { "\($0)=\(attributes[$0]!)" }.joined(separator: ", ") + ")"
        }
        return text
    }

    /// Go's RFC 3339 with nine fraction digits, in the local time zone ("Z" for UTC).
    static func timestamp(_ nanos: Int64) -> String {
        var seconds = time_t(nanos / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let offset = parts.tm_gmtoff
        let zone = offset == 0 ? "Z" : String(format: "%@%02d:%02d", offset < 0 ? "-" : "+", abs(offset) / 3600, abs(offset) % 3600 / 60)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%09d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(nanos % 1_000_000_000)) + zone
    }
}
