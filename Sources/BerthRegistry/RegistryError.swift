import BerthOCI

/// Registry failures, naming the image and what the registry said.
public enum RegistryError: Error, CustomStringConvertible, Sendable {
    case unauthorized(String)
    case notFound(String)
    case server(String, status: Int)
    case protocolError(String)
    case noMatchingPlatform(String, wanted: String, available: [String])

    public var description: String {
        switch self {
        case let .unauthorized(what): return "pull access denied for \(what): authentication required or repository does not exist"
        case let .notFound(what): return "manifest unknown: \(what) not found"
        case let .server(what, status): return "registry error for \(what): HTTP \(status)"
        case let .protocolError(what): return what
        case let .noMatchingPlatform(image, wanted, available):
            return "no matching manifest for \(wanted) in the manifest list entries of \(image) (available: \(available.joined(separator: ", ")))"
        }
    }
}
