import BerthAPITypes
import BerthSystem

/// The local driver's options, as dockerd's local driver reads them (`-o type=tmpfs -o
/// device=tmpfs -o o=size=64m,uid=1000`, `-o type=none -o o=bind -o device=/srv/data`, `-o
/// type=ext4 -o device=/dev/loop3`): the volume's `_data` is a mount of `device`, of filesystem
/// `type`, with the options `o` (mount flags such as `ro`, `nosuid` or `bind`; the rest goes to
/// the filesystem). The mount is made at the start of a container that has the volume and undone
/// when the last such container stops (or the volume is removed).
public struct LocalDriverOptions: Sendable, Equatable {
    /// The mount (`type`, `device`, `o`); nil for a plain directory with only a `size`.
    public var type: String?
    public var device: String
    public var flags: MountFlags
    public var data: String
    /// `size`: a project quota on the volume's directory, in bytes (`ProjectQuota`).
    public var quota: Int64?

    static let flagWords: [String: MountFlags] = [
        "ro": .readOnly, "nosuid": .noSUID, "nodev": .noDev, "noexec": .noExec, "sync": .synchronous, "dirsync": .dirSync,
        "noatime": .noAtime, "nodiratime": .noDirAtime, "relatime": .relAtime, "strictatime": .strictAtime,
        "bind": .bind, "rbind": [.bind, .recursive],
    ]
    static let neutralWords: Set = ["rw", "suid", "dev", "exec", "async", "atime", "diratime", "defaults"]

    /// nil without options (a plain directory); refused, in dockerd's words, for keys it does
    /// not know, a type or device missing, and a size that is no size.
    public init?(_ options: [String: String]) throws {
        guard !options.isEmpty else { return nil }
        for key in options.keys.sorted() where !["type", "device", "o", "size"].contains(key) {
            throw VolumeOptionError("invalid option key: \"\(key)\"")
        }
        if let size = options["size"], !size.isEmpty {
            guard let bytes = ByteSize.parse(size) else { throw VolumeOptionError("invalid size: '\(size)'") }
            quota = bytes
        }
        let mounted = options["type"] != nil || options["device"] != nil || options["o"] != nil
        guard mounted || quota != nil else { return nil }
        (type, device, flags, data) = (nil, "", [], "")
        guard mounted else { return }
        guard let type = options["type"], !type.isEmpty else { throw VolumeOptionError("missing required option: \"type\"") }
        guard let device = options["device"], !device.isEmpty else { throw VolumeOptionError("missing required option: \"device\"") }
        var flags: MountFlags = []
        var data: [String] = []
        for word in (options["o"] ?? "").split(separator: ",").map(String.init) {
            if let flag = Self.flagWords[word] { flags.insert(flag) } else if !Self.neutralWords.contains(word) { data.append(word) }
        }
        if flags.contains(.bind) {
            guard device.hasPrefix("/") else { throw VolumeOptionError("invalid device \(device): a bind needs an absolute host path") }
            guard SmallFile.exists(device) else { throw VolumeOptionError("failed to mount local volume: no such file or directory: \(device)") }
        }
        (self.type, self.device, self.flags, self.data) = (type, device, flags, data.joined(separator: ","))
    }

    /// Mounts the device on `target` (a bind made read-only takes a second, remounting step).
    func mount(on target: String) throws {
        guard let type else { return }
        let bind = flags.contains(.bind)
        try Mounts.mount(source: device, target: target, type: bind ? nil : type, flags: bind ? flags.subtracting(.readOnly) : flags,
                         data: data.isEmpty ? nil : data)
        if bind && flags.contains(.readOnly) {
            try Mounts.mount(source: device, target: target, type: nil, flags: [.bind, .remount, .readOnly], data: nil)
        }
    }
}

public struct VolumeOptionError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
