import BerthArchive
import BerthSystem
import CBerthSystem
import Foundation
import Glibc

/// `docker cp`, `docker export` and `docker diff`: files of a container's root filesystem,
/// reached only through paths resolved inside that root (a symlink in the container can never
/// lead to a host path).
extension ContainerEngine {
    /// Runs `body` as `BlockingWork` (a tar of a large tree takes seconds, which the actor must
    /// not wait for) with the container's merged root mounted: a stopped container's root is
    /// mounted for it, and a start or a removal of that container waits until it is done.
    nonisolated func withRootfs<T: Sendable>(_ reference: String, _ body: @escaping @Sendable (String, ContainerRecord) throws -> T) async throws -> T {
        let (record, rootfs, mounted) = try await holdRootfs(reference)
        let result = await BlockingWork.run { Result { try body(rootfs, record) } }
        if mounted { await releaseRootfs(record.id) }
        return try result.get()
    }

    private func holdRootfs(_ reference: String) async throws -> (ContainerRecord, String, mounted: Bool) {
        let id = try resolve(reference)
        await waitUntilFree(id)
        guard let record = containers[id] else { throw EngineError.noSuchContainer(reference) }
        if record.state.running { return (record, images.snapshots.containerRoot(id), false) }
        let image = try images.resolve(record.image)
        occupy(id)
        do { return (record, try images.snapshots.mountContainer(id, chain: image.chain), true) } catch {
            release(id)
            throw EngineError(.internalError, "mount the root filesystem of \(record.name): \(error)")
        }
    }

    private func releaseRootfs(_ id: String) {
        // A start that slipped in meanwhile waited: the root is still this copy's to unmount.
        images.snapshots.unmountContainer(id)
        release(id)
    }

    /// The host path of `path` inside `rootfs`, resolved as the container would see it.
    static func resolve(_ path: String, in rootfs: String, directory: Bool = false) throws -> String {
        let rootFD = open(rootfs, BERTH_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw EngineError(.internalError, "open the container's root: \(String(cString: strerror(errno)))") }
        defer { close(rootFD) }
        let relative = path.split(separator: "/").joined(separator: "/")
        let flags = BERTH_O_PATH | O_CLOEXEC | (directory ? O_DIRECTORY : O_NOFOLLOW)
        let fd: Int32
        do {
            fd = try FileDescriptors.openat2(rootFD, relative.isEmpty ? "." : relative, flags: flags, resolve: BERTH_RESOLVE_IN_ROOT)
        } catch let error as SystemError {
            if error.errno == .noSuchFileOrDirectory { throw EngineError(.notFound, "Could not find the file \(path) in container") }
            if error.errno == .notDirectory { throw EngineError(.badRequest, "\(path) is not a directory") }
            if [.fileNameTooLong, .tooManySymbolicLinkLevels, .invalidArgument].contains(error.errno) {
                throw EngineError(.badRequest, "invalid path \(path): \(String(cString: strerror(error.errno.rawValue)))")
            }
            throw EngineError(.internalError, "\(error)")
        }
        defer { close(fd) }
        do { return try FileDescriptors.path(of: fd) } catch {
            throw EngineError(.internalError, "resolve \(path): \(error)")
        }
    }

    /// The file berthd bind-mounts over `hostPath` (a path inside `rootfs`) when the container
    /// runs: its `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` live beside its record,
    /// and the image's own (usually empty) files underneath are not what the container sees.
    static func mountedFile(over hostPath: String, rootfs: String, record: ContainerRecord) -> String? {
        guard let canonical = realpath(rootfs, nil) else { return nil }
        defer { free(canonical) }
        let root = String(cString: canonical)
        guard hostPath.hasPrefix(root + "/") else { return nil }
        switch String(hostPath.dropFirst(root.count)) {
        case "/etc/hostname": return record.hostnamePath
        case "/etc/hosts": return record.hostsPath
        case "/etc/resolv.conf": return record.resolvConfPath
        default: return nil
        }
    }

    /// `X-Docker-Container-Path-Stat` for `path`: name, size, Go file mode, mtime, link target.
    static func pathStat(_ hostPath: String, name: String) throws -> JSONValue {
        var info = stat()
        guard lstat(hostPath, &info) == 0 else { throw EngineError(.notFound, "Could not find the file \(name) in container") }
        var mode = Int64(info.st_mode & 0o777)
        var target = ""
        switch info.st_mode & S_IFMT {
        case S_IFDIR: mode |= 1 << 31
        case S_IFLNK:
            mode |= 1 << 27
            target = (try? FileManager.default.destinationOfSymbolicLink(atPath: hostPath)) ?? ""
        default: break
        }
        let mtime = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        return .object(["name": .string((name as NSString).lastPathComponent), "size": .int(Int64(info.st_size)),
                        "mode": .int(mode), "mtime": .string(mtime.rfc3339Nano), "linkTarget": .string(target)])
    }

    /// HEAD/GET `/containers/{id}/archive`: the stat of `path`, and with `content` a tar of it.
    public nonisolated func archive(_ reference: String, path: String, content: Bool) async throws -> (stat: JSONValue, tar: AsyncThrowingStream<[UInt8], any Error>?) {
        let output = scratchPath("cp") + ".tar"
        let (stat, file): (JSONValue, String?) = try await withRootfs(reference) { rootfs, record in
            let resolved = try Self.resolve(path, in: rootfs)
            let hostPath = Self.mountedFile(over: resolved, rootfs: rootfs, record: record) ?? resolved
            let stat = try Self.pathStat(hostPath, name: path)
            guard content else { return (stat, nil) }
            let parent = (hostPath as NSString).deletingLastPathComponent
            let result = Subprocess.runBlocking(["/bin/tar", "--numeric-owner"] + self.ownerMaps() + ["-C", parent, "-cf", output,
                                                 "--", (hostPath as NSString).lastPathComponent])
            guard Self.tarSucceeded(result.status) else {
                unlink(output)
                throw EngineError(.internalError, "archive \(path): \(result.output)")
            }
            return (stat, output)
        }
        guard let file else { return (stat, nil) }
        return (stat, try ScratchFile.chunks(consuming: file))
    }

    /// PUT `/containers/{id}/archive`: extracts a tar into the directory `path`; entries that would
    /// leave it (`..`, absolute names, through symlinks) are refused by the layer applier. The
    /// tar is written to a scratch file as it arrives, off the actor.
    /// Every entry is the container's root's, or with `copyOwners` (`docker cp -a`) its configured
    /// user's, as dockerd does (mapped into a `userns-remap` range). `keepKinds`: dockerd's
    /// `noOverwriteDirNonDir`.
    public nonisolated func extract<Body: AsyncSequence>(_ reference: String, path: String, tar: Body,
                                                         copyOwners: Bool = true, keepKinds: Bool = false) async throws where Body.Element == [UInt8] {
        if try await record(reference).hostConfig.readonlyRootfs ?? false {
            throw EngineError(.badRequest, "container rootfs is marked read-only")
        }
        let input = scratchPath("cp") + ".tar"
        try await ScratchFile.write(tar, to: input)
        defer { unlink(input) }
        try await withRootfs(reference) { rootfs, record in
            let directory = try Self.resolve(path, in: rootfs, directory: true)
            // As dockerd: the container's root owns what is copied in, its configured user
            // with `-a` (looked up in the container's own passwd and group files).
            var owner = (uid: UInt32(0), gid: UInt32(0))
            if copyOwners, let user = record.config.user, !user.isEmpty {
                let resolved = try UserResolver(rootfs: rootfs).resolve(user, extraGroups: [])
                owner = (resolved.uid, resolved.gid)
            }
            let shift = self.images.snapshots.ownerShift
            var applier = LayerApplier(mode: .flat)
            applier.owners = .fixed(uid: shift?.host(uid: owner.uid) ?? owner.uid, gid: shift?.host(gid: owner.gid) ?? owner.gid)
            applier.keepKinds = keepKinds
            do { _ = try applier.apply(layerPath: input, to: directory) } catch {
                throw EngineError(.badRequest, "extract into \(path): \(error)")
            }
        }
    }

    /// GET `/containers/{id}/export`: the whole root filesystem as a tar.
    public nonisolated func export(_ reference: String) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let output = scratchPath("export") + ".tar"
        do {
            try await withRootfs(reference) { rootfs, _ in
                let result = Subprocess.runBlocking(["/bin/tar", "--numeric-owner", "--xattrs"] + self.ownerMaps() + ["-C", rootfs, "-cf", output, "."])
                guard Self.tarSucceeded(result.status) else { throw EngineError(.internalError, "export: \(result.output)") }
            }
            return try ScratchFile.chunks(consuming: output)
        } catch {
            unlink(output)
            throw error
        }
    }

    /// Under `userns-remap`, GNU tar's `--owner-map`/`--group-map`, so that archives out of a
    /// container carry its owners, not the host's shifted ones (files of each map written once).
    nonisolated func ownerMaps() -> [String] {
        guard let shift = images.snapshots.ownerShift else { return [] }
        let maps = [("owners", shift.uid, shift.uidSize), ("groups", shift.gid, shift.gidSize)].map { kind, start, size in
            let path = "\(config.execRoot)/remap-\(kind)-\(start)-\(size).map"
            if !FileManager.default.fileExists(atPath: path) {
                let lines = (0..<size).map { "+\(start + $0) +\($0)\n" }.joined()
                EngineLog.attempt("write \(path)") { try SmallFile.writeAtomically(path, Array(lines.utf8)) }
            }
            return path
        }
        return ["--owner-map=" + maps[0], "--group-map=" + maps[1]]
    }

    /// GNU tar's status 1 says a file changed while it was read: a running container writes
    /// while it is copied (neither `cp` nor `export` pauses it, as with dockerd); the archive is
    /// complete all the same.
    static func tarSucceeded(_ status: Int32) -> Bool { status == 0 || status == 1 }

    /// GET `/containers/{id}/changes`: Kind 0 modified, 1 added, 2 deleted, from the upper layer.
    public nonisolated func changes(_ reference: String) async throws -> JSONValue {
        let record = try await record(reference)
        let upper = images.snapshots.containerChanges(record.id)
        let image = try images.resolve(record.image)
        let lowers = image.chain.map { images.snapshots.layerPath($0) }
        return await BlockingWork.run { Self.changes(upper: upper, lowers: lowers) }
    }

    private static func changes(upper: String, lowers: [String]) -> JSONValue {
        var result: [JSONValue] = []
        guard let enumerator = FileManager.default.enumerator(atPath: upper) else { return .array([]) }
        while let relative = enumerator.nextObject() as? String {
            let full = upper + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            let path = "/" + relative
            let deleted = (info.st_mode & S_IFMT) == S_IFCHR && info.st_rdev == 0
            if deleted {
                result.append(.object(["Path": .string(path), "Kind": .int(2)]))
                continue
            }
            var lowerInfo = stat()
            let existed = lowers.contains { lstat($0 + path, &lowerInfo) == 0 }
            result.append(.object(["Path": .string(path), "Kind": .int(existed ? 0 : 1)]))
        }
        // The runtime creates mount points for the files Berth bind-mounts; Docker keeps those in
        // an init layer and never reports them, nor directories changed only by them.
        let hidden: Set<String> = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv"]
        result.removeAll { hidden.contains($0["Path"]?.string ?? "") }
        let paths = result.compactMap { $0["Path"]?.string }
        result.removeAll { entry in
            guard entry["Kind"]?.int == 0, let path = entry["Path"]?.string else { return false }
            var info = stat()
            guard lstat(upper + path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
            return !paths.contains { $0.hasPrefix(path + "/") }
        }
        return .array(result)
    }
}
