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
