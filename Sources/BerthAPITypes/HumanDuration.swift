import Foundation

/// Durations as Docker prints them in `Status` ("Up 2 minutes", "Exited (0) 3 seconds ago").
public enum HumanDuration {
    public static func describe(_ seconds: Double) -> String {
        // Times come from image configs too: any Double, which Int() would trap on.
        let s = seconds.isFinite ? Int(max(-1e15, min(seconds, 1e15))) : 0
        if s < 1 { return "Less than a second" }
        if s == 1 { return "1 second" }
        if s < 60 { return "\(s) seconds" }
        let minutes = s / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int((Double(s) / 3600).rounded())
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(hours / 24 / 365) years"
    }

    /// Go's `time.Duration` text, as Docker prints configured durations ("500ms", "2s", "1m30s").
    public static func go(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        let minutes = Int(seconds) / 60
        let rest = seconds - Double(minutes * 60)
        let restText = rest == rest.rounded() ? "\(Int(rest))s" : "\(rest)s"
        return minutes > 0 ? "\(minutes)m\(restText)" : restText
    }
}
