/// Errors raised while parsing or validating OCI and Docker documents.
///
/// Messages name the offending value so a user can fix the input without reading code.
public enum OCIError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidDigest(String, reason: String)
    case invalidReference(String, reason: String)
    case digestMismatch(expected: Digest, actual: Digest)
    case unsupportedMediaType(String)
    case invalidDocument(String)

    public var description: String {
        switch self {
        case let .invalidDigest(value, reason):
            return "invalid digest \"\(value)\": \(reason)"
        case let .invalidReference(value, reason):
            return "invalid reference format \"\(value)\": \(reason)"
        case let .digestMismatch(expected, actual):
            return "digest mismatch: expected \(expected), got \(actual)"
        case let .unsupportedMediaType(type):
            return "unsupported media type \(type)"
        case let .invalidDocument(reason):
            return "invalid document: \(reason)"
        }
    }
}
