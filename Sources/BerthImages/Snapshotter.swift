import BerthArchive
import BerthOCI
import BerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Layer snapshots keyed by chain ID, shared by every image that has them, and read-write
/// snapshots for containers on top.
///
///     <root>/layers/<chain hex>/diff     the layer (overlay form) or the whole tree up to it (copy form)
///     <root>/l/<short id>  → ../layers/<chain hex>/diff    short names keep mount options small
///     <root>/containers/<id>/{upper,work,merged}
///
/// overlayfs is used where it mounts; elsewhere (some filesystems refuse to be an upper dir)
/// every layer holds a full copy and a container gets a copy of its top layer.
public final class Snapshotter: Sendable {
    public enum Driver: String, Sendable { case overlay, copy }

    public let root: String
    public let driver: Driver

    /// A user-namespace-remapped store's owners: layers are unpacked shifted, and a container's
    /// root belongs to its remapped root.
    public let ownerShift: OwnerShift?

    public init(root: String, driver: Driver? = nil, ownerShift: OwnerShift? = nil) throws {
        self.root = root
        self.ownerShift = ownerShift
        for dir in ["layers", "l", "containers", "tmp"] { try SmallFile.makeDirectories(root + "/" + dir, mode: 0o700) }
        // A remapped container's runtime (root of its user namespace, not of the host's) must
        // reach its root through these.
        if ownerShift != nil { for dir in ["", "/containers"] { chmod(root + dir, 0o711) } }
        // Layers half-extracted when a process died: never published, nothing refers to them.
        for leftover in SmallFile.list(root + "/tmp") { SmallFile.removeTree(root + "/tmp/" + leftover) }
        self.driver = driver ?? (Self.overlayWorks(in: root + "/tmp") ? .overlay : .copy)
    }

    /// Puts `containers/` on a private mount of its own, as dockerd does for its graph
    /// driver's home: a container's root then mounts without propagating into the mount
    /// namespace of every running container (each a slave of the host's), which made each start
    /// slower the more containers ran. Idempotent; for the daemon (it changes the host's mounts).
    public func isolateContainerMounts() throws {
        let path = root + "/containers"
        // Making an existing mount private succeeds; on a plain directory it fails with EINVAL.
        if (try? Mounts.mount(source: "", target: path, type: nil, flags: .private)) != nil { return }
        try Mounts.mount(source: path, target: path, type: nil, flags: .bind)
        try Mounts.mount(source: "", target: path, type: nil, flags: .private)
    }

    private func layerDirectory(_ chainID: Digest) -> String { "\(root)/layers/\(chainID.encoded)" }
    public func layerPath(_ chainID: Digest) -> String { layerDirectory(chainID) + "/diff" }

    public func hasLayer(_ chainID: Digest) -> Bool { SmallFile.isDirectory(layerPath(chainID)) }

    /// Creates the snapshot for `chainID` on top of `parent` by running `apply` on an empty
    /// directory (overlay) or on a copy of the parent (copy), then publishing it atomically.
    /// `apply` returns the layer's unpacked size, kept for `history` and `system df`.
    /// Returns false if the layer already existed (shared with another image).
    @discardableResult
    public func createLayer(_ chainID: Digest, parent: Digest?, apply: (String, ApplyMode) throws -> Int64) throws -> Bool {
        if hasLayer(chainID) { return false }
        if let parent, !hasLayer(parent) { throw ImageStoreError.io("parent layer \(parent) of \(chainID) is missing") }
        let staging = "\(root)/tmp/\(chainID.encoded)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try SmallFile.makeDirectories(staging, mode: 0o700)
        do {
            let diff = staging + "/diff"
            let size: Int64
            switch driver {
            case .overlay:
                try SmallFile.makeDirectories(diff)
                size = try apply(diff, .overlay)
            case .copy:
                if let parent { try Self.copyTree(layerPath(parent), to: diff) } else { try SmallFile.makeDirectories(diff) }
                size = try apply(diff, .flat)
            }
            try ownerShift?.shiftTree(diff)
            try SmallFile.write(staging + "/size", "\(size)", create: true)
            let short = Self.shortID()
            try SmallFile.write(staging + "/link", short, create: true)
            if let parent { try SmallFile.write(staging + "/parent", parent.description, create: true) }
            guard rename(staging, layerDirectory(chainID)) == 0 else {
                // Another pull published the same layer first: theirs is as good as ours.
                if errno == ENOTEMPTY || errno == EEXIST { SmallFile.removeTree(staging); return false }
                throw ImageStoreError.io("publish layer \(chainID): \(String(cString: strerror(errno)))")
            }
            guard symlink("../layers/\(chainID.encoded)/diff", "\(root)/l/\(short)") == 0 else {
                throw ImageStoreError.io("link layer \(chainID): \(String(cString: strerror(errno)))")
            }
            return true
        } catch {
            SmallFile.removeTree(staging)
            throw error
        }
    }

    /// The unpacked size `apply` reported when the layer was created.
    public func layerSize(_ chainID: Digest) -> Int64 {
        Int64((try? SmallFile.read(layerDirectory(chainID) + "/size")) ?? "") ?? 0
    }

    /// Removes a layer snapshot (the caller knows nothing uses it any more).
    public func removeLayer(_ chainID: Digest) {
        if let short = try? SmallFile.read(layerDirectory(chainID) + "/link") { unlink("\(root)/l/\(short)") }
        SmallFile.removeTree(layerDirectory(chainID))
    }

    /// Prepares and mounts a container's read-write root over `chain` (bottom first, as
    /// `ChainID.chain` returns it); returns the path to use as the rootfs.
    public func mountContainer(_ id: String, chain: [Digest]) throws -> String {
        let dir = "\(root)/containers/\(id)"
        let merged = dir + "/merged"
        for sub in ["upper", "work", "merged"] { try SmallFile.makeDirectories(dir + "/" + sub, mode: 0o755) }
        // The root directory of a remapped container is its root's (the upper dir gives it).
        if let ownerShift { try syscallChecked("chown \(dir)/upper") { lchown(dir + "/upper", ownerShift.uid, ownerShift.gid) } }
        switch driver {
        case .overlay:
            let lowers = try chain.reversed().map { chainID -> String in
                let short = try SmallFile.read(layerDirectory(chainID) + "/link")
                return "\(root)/l/\(short)"
            }
            // overlayfs needs at least one lower dir; an image with no layers gets an empty one.
            let lowerdir = lowers.isEmpty ? [dir + "/empty"] : lowers
            if lowers.isEmpty { try SmallFile.makeDirectories(dir + "/empty") }
            let options = "lowerdir=\(lowerdir.joined(separator: ":")),upperdir=\(dir)/upper,workdir=\(dir)/work"
            guard options.utf8.count < 4000 else {
                throw ImageStoreError.io("too many layers (\(chain.count)) for one overlay mount")
            }
            try Mounts.mount(source: "overlay", target: merged, type: "overlay", flags: [], data: options)
        case .copy:
            if !SmallFile.exists(dir + "/copied"), let top = chain.last {
                SmallFile.removeTree(dir + "/upper")
                try Self.copyTree(layerPath(top), to: dir + "/upper")
                try SmallFile.write(dir + "/copied", "", create: true)
            }
            try Mounts.mount(source: dir + "/upper", target: merged, type: nil, flags: .bind)
        }
        return merged
    }

    /// The directory holding a container's changes (overlay upper dir, or its whole copy).
    public func containerChanges(_ id: String) -> String { "\(root)/containers/\(id)/upper" }

    /// Where a container's root is mounted while it runs (overlay merged dir, or the copy's bind).
    public func containerRoot(_ id: String) -> String { "\(root)/containers/\(id)/merged" }

    /// The overlay work directory of a container.
    public func containerWork(_ id: String) -> String { "\(root)/containers/\(id)/work" }

    /// A read-only view of an image's layers for a container's `--mount type=image`, at
    /// `containers/<id>/images/<index>`: an overlay of the layers without an upper dir (a bind of
    /// the layer when there is one, or of the top copy with the copy driver). Returns its path.
    public func mountImage(for id: String, index: Int, chain: [Digest]) throws -> String {
        let target = "\(root)/containers/\(id)/images/\(index)"
        try SmallFile.makeDirectories(target, mode: 0o755)
        // Mounted already (a start that failed after it).
        if Mounts.mountID(target) != Mounts.mountID("\(root)/containers/\(id)") { return target }
        guard let top = chain.last else { return target }
        if driver == .copy || chain.count == 1 {
            try Mounts.mount(source: layerPath(top), target: target, type: nil, flags: .bind)
            try Mounts.mount(source: layerPath(top), target: target, type: nil, flags: [.bind, .remount, .readOnly])
            return target
        }
        let lowers = try chain.reversed().map { "\(root)/l/" + (try SmallFile.read(layerDirectory($0) + "/link")) }
        let options = "lowerdir=\(lowers.joined(separator: ":"))"
        guard options.utf8.count < 4000 else { throw ImageStoreError.io("too many layers (\(chain.count)) for one overlay mount") }
        try Mounts.mount(source: "overlay", target: target, type: "overlay", flags: .readOnly, data: options)
        return target
    }

    /// Unmounts a container's root and the images mounted for it.
    public func unmountContainer(_ id: String) {
        let merged = "\(root)/containers/\(id)/merged"
        while umount2(merged, Int32(MNT_DETACH)) == 0 {}
        for index in SmallFile.list("\(root)/containers/\(id)/images") {
            while umount2("\(root)/containers/\(id)/images/\(index)", Int32(MNT_DETACH)) == 0 {}
        }
    }

    public func removeContainer(_ id: String) {
        unmountContainer(id)
        SmallFile.removeTree("\(root)/containers/\(id)")
    }

    // MARK: helpers

    /// 10 characters of [A-Z0-9]: ~51 bits, and short enough for ~100 layers per mount.
    static func shortID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<10).map { _ in alphabet.randomElement()! })
    }

    static func overlayWorks(in scratch: String) -> Bool {
        let dir = scratch + "/probe-\(getpid())"
        defer { SmallFile.removeTree(dir) }
        for sub in ["lower", "upper", "work", "merged"] {
            guard (try? SmallFile.makeDirectories(dir + "/" + sub)) != nil else { return false }
        }
        let options = "lowerdir=\(dir)/lower,upperdir=\(dir)/upper,workdir=\(dir)/work"
        guard (try? Mounts.mount(source: "overlay", target: dir + "/merged", type: "overlay", flags: [], data: options)) != nil else {
            return false
        }
        try? Mounts.unmount(dir + "/merged", detach: true)
        return true
    }

    /// `cp -a` semantics (owners, modes, times, xattrs, hard links, devices) without reimplementing it.
    static func copyTree(_ source: String, to target: String) throws {
        let argv = ["/bin/cp", "-a", "--no-target-directory", "--reflink=auto", source, target]
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        FileDescriptors.closeOthersOnSpawn(&actions)
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, args, nil) == 0 else { throw ImageStoreError.io("cannot run cp") }
        let status = try Processes.wait(pid)
        guard status == .exited(0) else { throw ImageStoreError.io("copy \(source) to \(target) failed: \(status)") }
    }
}
