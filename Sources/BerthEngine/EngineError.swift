/// A failed engine operation: its kind (the Engine API status it maps to), the message users
/// see, and the error underneath, if one caused it (for the daemon's log).
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case badRequest, unauthorized, forbidden, notFound, conflict, notModified, notImplemented, internalError, serviceUnavailable }

    public let kind: Kind
    public let message: String
    public let cause: (any Error)?

    public init(_ kind: Kind, _ message: String, cause: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    public var httpStatus: Int {
        switch kind {
        case .badRequest: return 400
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .conflict: return 409
        case .notModified: return 304
        case .notImplemented: return 501
        case .internalError: return 500
        case .serviceUnavailable: return 503
        }
    }

    public static func noSuchContainer(_ name: String) -> EngineError { EngineError(.notFound, "No such container: \(name)") }
    public static func noSuchExec(_ id: String) -> EngineError { EngineError(.notFound, "No such exec instance: \(id)") }
    public static func notRunning(_ id: String) -> EngineError { EngineError(.conflict, "Container \(id) is not running") }
}
