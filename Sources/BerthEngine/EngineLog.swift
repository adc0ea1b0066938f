import Logging

/// berthd's log (swift-log): stderr, at the daemon's `log-level`. Failures the engine cannot
/// report to a client (a cleanup, a restart, a kill on the way to a removal) are logged here
/// rather than dropped.
public enum EngineLog {
    /// Created on first use, after berthd has bootstrapped the logging system.
    public static let logger = Logger(label: "berthd")

    /// dockerd's level names (`debug`, `info`, `warn`, `error`, `fatal`) as swift-log's.
    public static func level(_ name: String) -> Logger.Level? {
        switch name {
        case "debug": return .debug
        case "info": return .info
        case "warn": return .warning
        case "error": return .error
        case "fatal": return .critical
        default: return nil
        }
    }

    /// Runs a best-effort step; a failure is logged as a warning with what was being done.
    public static func attempt(_ what: @autoclosure () -> String, _ body: () throws -> Void) {
        do { try body() } catch { logger.warning("\(what()): \(error)") }
    }

    /// As above, on the caller's actor.
    public static func attempt(_ what: @autoclosure () -> String, isolation: isolated (any Actor)? = #isolation,
                               _ body: () async throws -> Void) async {
        do { try await body() } catch { logger.warning("\(what()): \(error)") }
    }
}
