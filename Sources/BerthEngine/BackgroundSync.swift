import BerthSystem
import Dispatch
import Glibc

/// Writes berthd's records atomically at once and makes them durable on a background queue,
/// so no API request waits for the disk. On a journaled file system each fsync waits for a
/// journal commit (a millisecond or more here), and one `docker run --rm` writes its record
/// five times. A crash at any point still leaves the old record or the new one (the rename
/// is atomic); a power loss can lose only the last few milliseconds of changes.
final class BackgroundSync: Sendable {
    static let shared = BackgroundSync()

    private let queue = DispatchQueue(label: "berth.background-sync", qos: .utility)

    func writeAtomically(_ path: String, _ contents: [UInt8], mode: mode_t = 0o644) throws {
        try SmallFile.writeAtomically(path, contents, mode: mode, durability: .volatile)
        queue.async {
            Self.fsync(path)
            // The directory entry that the rename changed.
            if let slash = path.lastIndex(of: "/"), slash > path.startIndex { Self.fsync(String(path[..<slash])) }
        }
    }

    /// Returns once everything written before the call is on disk.
    func drain() {
        queue.sync {}
    }

    private static func fsync(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = Glibc.fsync(fd)
        close(fd)
    }
}
