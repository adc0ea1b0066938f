import BerthOCI

/// The `config.json` that `berth-runtime spec` writes: runc's defaults, so bundles behave alike.
public enum DefaultSpec {
    public static let defaultCapabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap",
    ]

    public static let readonlyPaths = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]

    public static func make(rootless: Bool = false) -> RuntimeSpec {
        let caps = RuntimeSpec.Capabilities(bounding: defaultCapabilities, effective: defaultCapabilities,
                                            permitted: defaultCapabilities)
        var process = RuntimeSpec.Process(terminal: true, args: ["sh"],
                                          env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                                          cwd: "/", capabilities: caps,
                                          rlimits: [.init(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)],
                                          noNewPrivileges: true)
        process.user = .init(uid: 0, gid: 0)
        var mounts: [RuntimeSpec.Mount] = [
            .init(destination: "/proc", type: "proc", source: "proc"),
            .init(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            .init(destination: "/dev/pts", type: "devpts", source: "devpts",
                  options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] + (rootless ? [] : ["gid=5"])),
            .init(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        ]
        if !rootless {
            mounts.append(.init(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                                options: ["nosuid", "noexec", "nodev", "relatime", "ro"]))
        }
        var namespaces: [RuntimeSpec.Namespace] = [.init(type: .pid), .init(type: .network), .init(type: .ipc),
                                                   .init(type: .uts), .init(type: .mount), .init(type: .cgroup)]
        var linux = RuntimeSpec.Linux(namespaces: namespaces,
                                      resources: rootless ? nil : .init(devices: [.init(allow: false, access: "rwm")]),
                                      maskedPaths: maskedPaths, readonlyPaths: readonlyPaths)
        if rootless {
            namespaces.append(.init(type: .user))
            linux.namespaces = namespaces
            linux.uidMappings = [.init(containerID: 0, hostID: 1000, size: 1)]
            linux.gidMappings = [.init(containerID: 0, hostID: 1000, size: 1)]
        }
        return RuntimeSpec(process: process, root: .init(path: "rootfs", readonly: true), hostname: "berth",
                           mounts: mounts, linux: linux)
    }
}
