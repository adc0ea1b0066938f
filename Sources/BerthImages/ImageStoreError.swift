import BerthOCI

/// Errors of the image store, naming the blob or image and the cause.
public enum ImageStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case blobNotFound(Digest)
    case sizeMismatch(Digest, expected: Int64, actual: Int64)
    case digestMismatch(expected: Digest, actual: Digest)
    case ingestBusy(Digest)
    case io(String)
    /// No image has this name or ID (404 over the API).
    case imageNotFound(String)
    /// The operation conflicts with the image's use or tags (409 over the API).
    case conflict(String)

    public var description: String {
        switch self {
        case let .blobNotFound(digest): return "blob \(digest) not found"
        case let .sizeMismatch(digest, expected, actual):
            return "blob \(digest) has \(actual) bytes, expected \(expected)"
        case let .digestMismatch(expected, actual):
            return "content does not match its digest: expected \(expected), got \(actual)"
        case let .ingestBusy(digest): return "blob \(digest) is already being written by another operation"
        case let .io(reason): return reason
        case let .imageNotFound(name): return "No such image: \(name)"
        case let .conflict(reason): return reason
        }
    }
}
