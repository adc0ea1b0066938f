/// Errors applying or writing layer archives. Messages name the entry and the cause.
public enum ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    /// An entry whose path or link would land outside the target directory.
    case escape(entry: String, reason: String)
    /// libarchive could not read the archive (truncated, corrupt, not a tar).
    case corrupt(String)
    /// Writing to disk failed.
    case write(entry: String, reason: String)

    public var description: String {
        switch self {
        case let .escape(entry, reason): return "layer entry \"\(entry)\" refused: \(reason)"
        case let .corrupt(reason): return "invalid layer archive: \(reason)"
        case let .write(entry, reason): return "cannot extract \"\(entry)\": \(reason)"
        }
    }
}
