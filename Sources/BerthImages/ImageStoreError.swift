import BerthOCI

/// Errors of the image store, naming the blob or image and the cause.
public enum ImageStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case blobNotFound(Digest)
    case sizeMismatch(Digest, expected: Int64, actual: Int64)
    case digestMismatch(expected: Digest, actual: Digest)
    case ingestBusy(Digest)
    case io(String)

    public var description: String {
        switch self {
        case let .blobNotFound(digest): return "blob \(digest) not found"
        case let .sizeMismatch(digest, expected, actual):
            return "blob \(digest) has \(actual) bytes, expected \(expected)"
        case let .digestMismatch(expected, actual):
            return "content does not match its digest: expected \(expected), got \(actual)"
        case let .ingestBusy(digest): return "blob \(digest) is already being written by another operation"
        case let .io(reason): return reason
        }
    }
}
