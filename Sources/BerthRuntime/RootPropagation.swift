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
}
