import BerthOCI
import BerthSystem
import BerthVolumes
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One `HostConfig.Binds` entry, `SOURCE:DEST[:OPTIONS]` (`-v /host:/ctr:ro,rshared`), a named
/// volume (`-v name:/ctr`) or an anonymous one (`-v /ctr`), read by one rule for create, start
/// and inspect.
struct BindSpecification: Equatable {
    /// The host path of a bind; a volume's name (empty: anonymous) when `isVolume`.
    let source: String
    let isVolume: Bool
    let destination: String
    let readOnly: Bool
    /// `rprivate` unless the options name another propagation.
    let propagation: String
    /// The options as given (inspect's `Mode`).
    let mode: String

    static let propagations: Set = ["private", "rprivate", "shared", "rshared", "slave", "rslave"]
    /// dockerd's other options: SELinux relabelling (nothing to do without SELinux, as in dockerd),
    /// `nocopy` (volumes only), and the macOS consistency hints it accepts and ignores.
    static let accepted: Set = ["ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"]

    init(_ text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1, text.hasPrefix("/") {
            // `-v /path`: an anonymous volume.
            (source, isVolume, destination, mode) = ("", true, text, "")
        } else {
            guard (2...3).contains(parts.count), !parts[0].isEmpty, parts[1].hasPrefix("/") else {
                throw EngineError(.badRequest, "invalid volume specification: '\(text)'")
            }
            if !parts[0].hasPrefix("/") {
                // dockerd reads a source that is no absolute path as a volume name, with this word for a relative path.
                guard VolumeRecord.isValidName(parts[0]) else {
                    throw EngineError(.badRequest, "create \(parts[0]): \"\(parts[0])\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
                }
            }
            (source, isVolume, destination, mode) = (parts[0], !parts[0].hasPrefix("/"), parts[1], parts.count > 2 ? parts[2] : "")
        }
        guard destination != "/" else { throw EngineError(.badRequest, "invalid volume specification: '\(text)': invalid mount config: destination can't be '/'") }
        let options = mode.split(separator: ",").map(String.init)
        for option in options where !Self.accepted.contains(option) && !Self.propagations.contains(option) {
            throw EngineError(.badRequest, "invalid mode: \(option)")
        }
        guard options.filter(Self.propagations.contains).count <= 1, !(options.contains("ro") && options.contains("rw")) else {
            throw EngineError(.badRequest, "invalid mode: \(mode)")
        }
        if isVolume, let propagation = options.first(where: Self.propagations.contains) {
            throw EngineError(.badRequest, "invalid mode: \(propagation): propagation is for binds, not volumes")
        }
        if !isVolume, options.contains("nocopy") { throw EngineError(.badRequest, "invalid mode: nocopy: for volumes, not binds") }
        readOnly = options.contains("ro")
        propagation = options.first(where: Self.propagations.contains) ?? "rprivate"
    }

    /// The runtime mount; read-only all the way down (`rro`: the mounts under the source too)
    /// where the kernel can, as dockerd ≥ 25 makes `-v …:ro`.
    func mount(recursiveReadOnly: Bool = false) -> RuntimeSpec.Mount {
        .init(destination: destination, type: "bind", source: source,
              options: ["rbind", readOnly ? "ro" : "rw"] + (readOnly && recursiveReadOnly ? ["rro"] : []) + [propagation])
    }

    /// What the container's root propagation must be for this bind to propagate as asked
    /// (dockerd: any shared bind makes the root `rshared`, a slave one `rslave`).
    var rootPropagation: String? { Self.rootPropagation(for: propagation) }

    static func rootPropagation(for propagation: String) -> String? {
        switch propagation {
        case "shared", "rshared": return "rshared"
        case "slave", "rslave": return "rslave"
        default: return nil
        }
    }

    /// Before a start, as dockerd: a missing `-v` source is created (a `--mount` one only with
    /// CreateMountpoint, checked at create), and every shared or slave bind's source must
    /// propagate.
    static func prepareSources(_ host: HostConfig) throws {
        for bind in try SpecBuilder.binds(host) where !bind.isVolume {
            try SmallFile.makeDirectories(bind.source)
            try checkSourcePropagation(bind.source, propagation: bind.propagation)
        }
        for entry in try SpecBuilder.mountEntries(host) {
            if let source = entry.sourceToCreate { try SmallFile.makeDirectories(source) }
            if case let .bind(source, propagation, _, _) = entry.kind { try checkSourcePropagation(source, propagation: propagation) }
        }
    }

    /// dockerd's check that a bind can propagate as asked: a shared bind needs a shared source
    /// mount, a slave one a shared or slave source (else the container would silently see a
    /// private mount).
    static func checkSourcePropagation(_ source: String, propagation: String) throws {
        guard let root = rootPropagation(for: propagation) else { return }
        guard let entry = try? Mounts.entry(containing: URL(fileURLWithPath: source).resolvingSymlinksInPath().path) else { return }
        if root == "rshared" && !entry.isShared {
            throw EngineError(.badRequest, "path \(source) is mounted on \(entry.mountPoint) but it is not a shared mount")
        }
        if root == "rslave" && !entry.isShared && !entry.isSlave {
            throw EngineError(.badRequest, "path \(source) is mounted on \(entry.mountPoint) but it is not a shared or slave mount")
        }
    }
}
