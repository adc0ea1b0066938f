import BerthSystem
import Glibc

/// `linux.rootfsPropagation`, applied in two steps.
///
/// pivot_root refuses a shared current root and a shared parent of the new root, and nothing
/// can be bind-mounted from under an unbindable mount; so the tree is first set to something
/// the setup can work with (and that keeps the container's mounts from reaching the host), and
/// the value the spec asks for is given to the container's root once it is entered.
struct RootPropagation: Equatable {
    /// Applied to the whole tree in the new mount namespace before anything is mounted.
    let beforeSetup: MountFlags
    /// Applied to the container's root after pivot_root (nil: as set up).
    let afterEntry: MountFlags?

    /// Shared values keep the tree's peer groups during setup (a bind mount with the `rshared`
    /// option must stay connected to the host's mount), so the two mounts pivot_root checks are
    /// made private just for the pivot.
    var keepsPeers: Bool { beforeSetup.contains(.shared) }

    static let values = ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"]

    init(_ value: String?) throws {
        switch value ?? "" {
        // runc's default: the container sees the host's later mounts, the host none of its.
        case "", "rslave": (beforeSetup, afterEntry) = ([.slave, .recursive], nil)
        case "slave": (beforeSetup, afterEntry) = ([.slave, .recursive], [.slave])
        case "rprivate": (beforeSetup, afterEntry) = ([.private, .recursive], nil)
        case "private": (beforeSetup, afterEntry) = ([.private, .recursive], [.private])
        case "shared": (beforeSetup, afterEntry) = ([.shared, .recursive], [.shared])
        case "rshared": (beforeSetup, afterEntry) = ([.shared, .recursive], [.shared, .recursive])
        case "unbindable": (beforeSetup, afterEntry) = ([.private, .recursive], [.unbindable])
        case "runbindable": (beforeSetup, afterEntry) = ([.private, .recursive], [.unbindable, .recursive])
        case let other:
            throw RuntimeError.invalidConfig("linux.rootfsPropagation \"\(other)\" is not one of \(Self.values.joined(separator: ", "))")
        }
    }

    /// The mount point of the mount that holds `path` (an absolute, resolved path), from the
    /// mount table: the longest mount point that is `path` or one of its parents.
    static func mountPoint(containing path: String) throws -> String {
        guard let table = try? SmallFile.read("/proc/self/mountinfo") else {
            throw RuntimeError.setup("cannot read /proc/self/mountinfo")
        }
        var best = "/"
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5)
            guard fields.count > 4 else { continue }
            let point = unescape(fields[4])
            if point.count > best.count, path == point || path.hasPrefix(point + "/") { best = point }
        }
        return best
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let code = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(code)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
