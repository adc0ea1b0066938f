import BerthAPITypes
import BerthOCI

/// What a pull reports as it goes; the daemon turns these into Docker's JSON progress messages,
/// the CLI into bars or plain lines.
public enum PullEvent: Sendable, Equatable {
    /// "latest: Pulling from library/busybox"
    case resolving(path: String, tag: String)
    /// Per layer, keyed by the short ID Docker shows (12 hex digits of the blob digest).
    case waiting(String)
    case alreadyExists(String)
    case downloading(String, current: Int64, total: Int64)
    case verifying(String)
    case downloadComplete(String)
    case extracting(String)
    case pullComplete(String)
    /// The manifest digest, printed as "Digest: sha256:…" at the end.
    case digest(Digest)

    public static func shortID(_ digest: Digest) -> String { String(digest.encoded.prefix(12)) }
}

extension PullEvent {
    /// The message Docker sends for this event.
    public var message: ProgressMessage {
        switch self {
        case let .resolving(path, tag): return ProgressMessage(status: "Pulling from \(path)", id: tag)
        case let .waiting(id): return ProgressMessage(status: "Waiting", id: id)
        case let .alreadyExists(id): return ProgressMessage(status: "Already exists", id: id)
        case let .downloading(id, current, total): return ProgressMessage(status: "Downloading", id: id, current: current, total: total)
        case let .verifying(id): return ProgressMessage(status: "Verifying Checksum", id: id)
        case let .downloadComplete(id): return ProgressMessage(status: "Download complete", id: id)
        case let .extracting(id): return ProgressMessage(status: "Extracting", id: id)
        case let .pullComplete(id): return ProgressMessage(status: "Pull complete", id: id)
        case let .digest(digest): return ProgressMessage(status: "Digest: \(digest)")
        }
    }
}

extension PushEvent {
    public var message: ProgressMessage {
        switch self {
        case let .preparing(id): return ProgressMessage(status: "Preparing", id: id)
        case let .alreadyExists(id): return ProgressMessage(status: "Layer already exists", id: id)
        case let .pushing(id, current, total): return ProgressMessage(status: "Pushing", id: id, current: current, total: total)
        case let .pushed(id): return ProgressMessage(status: "Pushed", id: id)
        case let .mounted(id, from): return ProgressMessage(status: "Mounted from \(from)", id: id)
        case let .digest(tag, digest, size): return ProgressMessage(status: "\(tag): digest: \(digest) size: \(size)")
        }
    }
}
