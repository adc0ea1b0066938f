import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc

/// Builds the container's filesystem view inside its new mount namespace, then enters it.
///
/// Runs in the container's init process, before pivot_root (`prepare`) and after (`finish`).
struct RootfsSetup {
    let spec: RuntimeSpec
    let bundle: String
    let rootfs: String
    let inUserNamespace: Bool
    let newCgroupNamespace: Bool
    /// False when the spec neither creates nor joins a mount namespace (see `prepare`).
    let ownMountNamespace: Bool
    let cgroupPaths: [String: String]

    private var linux: RuntimeSpec.Linux { spec.linux ?? .init() }

    /// Propagation, the rootfs bind mount, the spec's mounts and the device nodes.
    ///
    /// Without a mount namespace of its own the container shares the runtime's: the host's
    /// propagation is left alone, and the rootfs is bound onto itself so that every mount the
    /// spec asks for stacks on that one bind, which `delete` detaches (runc leaves them behind).
    func prepare() throws {
        if let propagation = try propagation {
            try Mounts.mount(source: "", target: "/", type: nil, flags: propagation.beforeSetup)
            if propagation.keepsPeers {
                try Mounts.mount(source: "", target: "/", type: nil, flags: .private)
                try Mounts.mount(source: "", target: Mounts.entry(containing: rootfs).mountPoint, type: nil, flags: .private)
            }
        }
        try Mounts.mount(source: rootfs, target: rootfs, type: nil, flags: [.bind, .recursive])
        let root = try ContainerRoot(path: rootfs)
        var devMounted = false
        for mount in spec.mounts ?? [] {
            try self.mount(mount, in: root)
            if Self.clean(mount.destination) == "/dev" { devMounted = true }
        }
        if devMounted { try createDefaultDevices(root) }
        for device in linux.devices ?? [] { try createDevice(device, in: root) }
        if devMounted { try createDevSymlinks(root) }
        root.close()
    }

    /// The root's propagation; nil when the container shares the runtime's mount namespace.
    private var propagation: RootPropagation? {
        get throws { ownMountNamespace ? try RootPropagation(linux.rootfsPropagation) : nil }
    }

    /// pivot_root into the rootfs (or MS_MOVE + chroot with `noPivot`; a plain chroot in the
    /// runtime's mount namespace).
    func enter(noPivot: Bool) throws {
        try syscallChecked("chdir \(rootfs)") { chdir(rootfs) }
        if !ownMountNamespace {
            try syscallChecked("chroot") { chroot(".") }
        } else if noPivot {
            try Mounts.mount(source: rootfs, target: "/", type: nil, flags: .move)
            try syscallChecked("chroot") { chroot(".") }
        } else {
            try Mounts.pivotRoot(newRoot: ".", putOld: ".")
            // The old root is now stacked under "/": detach it without telling the host about it.
            try Mounts.mount(source: "", target: ".", type: nil, flags: [.slave, .recursive])
            try Mounts.unmount(".", detach: true)
        }
        try syscallChecked("chdir /") { chdir("/") }
    }

    /// Everything that needs the container's own /proc: sysctls, masked and read-only paths,
    /// read-only root; then the root's propagation.
    func finish() throws {
        // Checked by SpecValidator at create: each key is namespaced, with its namespace.
        for (key, value) in (linux.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = "/proc/sys/" + key.replacingDots()
            do { try SmallFile.write(path, value) } catch {
                throw RuntimeError.setup("set sysctl \(key)=\(value): \(error)")
            }
        }
        let root = try ContainerRoot(path: "/")
        defer { root.close() }
        // As runc: a cwd missing from the image is created (before the root turns read-only).
        if let cwd = spec.process?.cwd, access(cwd, F_OK) != 0 { try root.makeDirectories(Self.clean(cwd)) }
        for path in linux.maskedPaths ?? [] { try mask(path, in: root) }
        for path in linux.readonlyPaths ?? [] { try makeReadonly(path, in: root) }
        if spec.root?.readonly == true {
            try remountReadonly("/", recursive: false)
        }
        if let hostname = spec.hostname {
            try syscallChecked("set hostname") { berth_sethostname(hostname, hostname.utf8.count) }
        }
        if let domain = spec.domainname {
            try syscallChecked("set domainname") { berth_setdomainname(domain, domain.utf8.count) }
        }
        // Last: masked and read-only paths are bind mounts, which an unbindable tree refuses.
        if let after = try propagation?.afterEntry {
            try Mounts.mount(source: "", target: "/", type: nil, flags: after)
        }
    }

    // MARK: mounts

    private func mount(_ m: RuntimeSpec.Mount, in root: ContainerRoot) throws {
        let destination = Self.clean(m.destination)
        let options = MountOptions(m.options ?? [])
        let type = m.type ?? ""
        if type == "bind" || options.isBind {
            try bindMount(m, destination: destination, options: options, in: root)
        } else if type == "cgroup" || type == "cgroup2" {
            try mountCgroup(destination: destination, options: options, in: root)
        } else {
            try root.makeDirectories(destination)
            do {
                try root.mount(source: m.source ?? type, onto: destination, type: type, flags: options.flags, data: options.dataString)
            } catch let error as SystemError where type == "sysfs" && error.errno == .notPermitted {
                // sysfs needs a network namespace owned by our user namespace; fall back to the host's, read-only.
                try root.mount(source: "/sys", onto: destination, type: nil, flags: [.bind, .recursive], data: nil)
                try remountBind(root, destination, flags: options.flags.union([.readOnly, .noSUID, .noDev, .noExec]))
            }
        }
        if options.recursiveSet != 0 || options.recursiveClear != 0 {
            try root.setAttributes(destination, set: options.recursiveSet, clear: options.recursiveClear)
        }
        for propagation in options.propagation {
            try root.mount(source: "", onto: destination, type: nil, flags: propagation, data: nil)
        }
    }

    private func bindMount(_ m: RuntimeSpec.Mount, destination: String, options: MountOptions, in root: ContainerRoot) throws {
        guard var source = m.source, !source.isEmpty else {
            throw RuntimeError.invalidConfig("bind mount for \(m.destination) has no source")
        }
        if !source.hasPrefix("/") { source = bundle + "/" + source }
        var st = stat()
        guard stat(source, &st) == 0 else { throw SystemError("bind mount source \(source)") }
        if (st.st_mode & S_IFMT) == S_IFDIR { try root.makeDirectories(destination) } else { try root.ensureFile(destination) }
        try root.mount(source: source, onto: destination, type: nil, flags: options.isRecursive ? [.bind, .recursive] : .bind, data: nil)
        let extra = options.flags.subtracting([.bind, .recursive, .remount])
        if !extra.isEmpty { try remountBind(root, destination, flags: extra, source: source) }
    }

    /// MS_REMOUNT|MS_BIND with `flags`; in a user namespace the source's locked flags must be kept.
    private func remountBind(_ root: ContainerRoot, _ destination: String, flags: MountFlags, source: String? = nil) throws {
        do {
            try root.mount(source: "", onto: destination, type: nil, flags: flags.union([.bind, .remount]), data: nil)
        } catch let error as SystemError where error.errno == .notPermitted {
            try root.mount(source: "", onto: destination, type: nil,
                           flags: flags.union([.bind, .remount]).union(Self.lockedFlags(source ?? root.path + destination)), data: nil)
        }
    }

    private func remountReadonly(_ path: String, recursive: Bool) throws {
        let flags: MountFlags = [.bind, .remount, .readOnly]
        do { try Mounts.mount(source: "", target: path, type: nil, flags: flags) } catch let error as SystemError where error.errno == .notPermitted {
            try Mounts.mount(source: "", target: path, type: nil, flags: flags.union(Self.lockedFlags(path)))
        }
    }

    static func lockedFlags(_ path: String) -> MountFlags {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return [] }
        // statvfs's ST_* bits share their values with the MS_* mount flags.
        let lockable: MountFlags = [.readOnly, .noSUID, .noDev, .noExec, .noAtime, .noDirAtime, .relAtime]
        let flags = MountFlags(rawValue: UInt(st.f_flag)).intersection(lockable)
        return flags
    }

    /// cgroup2 on a unified host; on v1 a tmpfs holding one mount per hierarchy, as in Docker.
    private func mountCgroup(destination: String, options: MountOptions, in root: ContainerRoot) throws {
        try root.makeDirectories(destination)
        let flags = options.flags.union([.noSUID, .noDev, .noExec])
        if CgroupFactory.isUnified {
            if newCgroupNamespace {
                try root.mount(source: "cgroup2", onto: destination, type: "cgroup2", flags: flags, data: nil)
            } else if let own = cgroupPaths[""] {
                try root.mount(source: own, onto: destination, type: nil, flags: [.bind, .recursive], data: nil)
                try remountBind(root, destination, flags: flags)
            }
            return
        }
        try root.mount(source: "tmpfs", onto: destination, type: "tmpfs", flags: [.noSUID, .noDev, .noExec], data: "mode=755")
        var byMountpoint: [String: [String]] = [:]
        for (controller, mountpoint) in CgroupFactory.v1Mounts() { byMountpoint[mountpoint, default: []].append(controller) }
        for (mountpoint, controllers) in byMountpoint.sorted(by: { $0.key < $1.key }) {
            let name = String(mountpoint.split(separator: "/").last ?? "")
            let sub = destination + "/" + name
            try root.makeDirectories(sub)
            if newCgroupNamespace {
                let data = controllers.map { $0 == "systemd" ? "none,name=systemd" : $0 }.sorted().joined(separator: ",")
                try root.mount(source: "cgroup", onto: sub, type: "cgroup", flags: flags, data: data)
            } else if let own = controllers.lazy.compactMap({ cgroupPaths[$0] }).first {
                try root.mount(source: own, onto: sub, type: nil, flags: .bind, data: nil)
                try remountBind(root, sub, flags: flags)
            }
        }
        if options.flags.contains(.readOnly) { try remountBind(root, destination, flags: [.readOnly, .noSUID, .noDev, .noExec]) }
    }

    // MARK: devices

    static let defaultDevices: [RuntimeSpec.Device] = [
        .init(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0),
    ]

    private func createDefaultDevices(_ root: ContainerRoot) throws {
        let explicit = Set((linux.devices ?? []).map { Self.clean($0.path) })
        for device in Self.defaultDevices where !explicit.contains(device.path) { try createDevice(device, in: root) }
    }

    private func createDevice(_ device: RuntimeSpec.Device, in root: ContainerRoot) throws {
        let path = Self.clean(device.path)
        guard path.hasPrefix("/dev/") else { throw RuntimeError.invalidConfig("device \(device.path) must be under /dev") }
        let kind: mode_t
        switch device.type {
        case "c", "u": kind = S_IFCHR
        case "b": kind = S_IFBLK
        case "p": kind = S_IFIFO
        default: throw RuntimeError.invalidConfig("device \(device.path) has unknown type \(device.type)")
        }
        let dev = berth_makedev(UInt32(device.major ?? 0), UInt32(device.minor ?? 0))
        let mode = mode_t(device.fileMode ?? 0o666) & 0o7777
        if !inUserNamespace {
            try root.withParent(path) { dir, name in
                unlinkat(dir, name, 0)
                try syscallChecked("create device \(path)") { mknodat(dir, name, kind | mode, __dev_t(dev)) }
                try syscallChecked("chown device \(path)") { fchownat(dir, name, device.uid ?? 0, device.gid ?? 0, Int32(AT_SYMLINK_NOFOLLOW)) }
            }
        } else {
            // A user namespace cannot mknod: bind the host's node instead.
            try root.ensureFile(path)
            try root.mount(source: path, onto: path, type: nil, flags: .bind, data: nil)
        }
    }

    private func createDevSymlinks(_ root: ContainerRoot) throws {
        var links = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                     ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")]
        if SmallFile.exists("/proc/kcore") { links.append(("/proc/kcore", "/dev/core")) }
        let hasDevpts = (spec.mounts ?? []).contains { Self.clean($0.destination) == "/dev/pts" }
        if hasDevpts { links.append(("pts/ptmx", "/dev/ptmx")) }
        for (target, link) in links {
            try root.withParent(link) { dir, name in
                if symlinkat(target, dir, name) != 0 && errno != EEXIST { throw SystemError("create symlink \(link)") }
            }
        }
    }

    // MARK: masked and read-only paths

    private func mask(_ path: String, in root: ContainerRoot) throws {
        let fd: Int32
        do { fd = try root.open(path) } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let target = "/proc/self/fd/\(fd)"
        if (st.st_mode & S_IFMT) == S_IFDIR {
            try Mounts.mount(source: "tmpfs", target: target, type: "tmpfs", flags: .readOnly, data: "size=0")
        } else {
            try Mounts.mount(source: "/dev/null", target: target, type: nil, flags: .bind)
        }
    }

    private func makeReadonly(_ path: String, in root: ContainerRoot) throws {
        let fd: Int32
        do { fd = try root.open(path) } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return
        }
        defer { close(fd) }
        let target = "/proc/self/fd/\(fd)"
        try Mounts.mount(source: target, target: target, type: nil, flags: [.bind, .recursive])
        let reopened = try root.open(path)
        defer { close(reopened) }
        let flags: MountFlags = [.bind, .remount, .readOnly, .recursive]
        do { try Mounts.mount(source: "", target: "/proc/self/fd/\(reopened)", type: nil, flags: flags) } catch let e as SystemError where e.errno == .notPermitted {
            try Mounts.mount(source: "", target: "/proc/self/fd/\(reopened)", type: nil, flags: flags.union(Self.lockedFlags(path)))
        }
    }

    static func clean(_ path: String) -> String {
        "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

extension String {
    /// `net.ipv4.ip_forward` → `net/ipv4/ip_forward`
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}
