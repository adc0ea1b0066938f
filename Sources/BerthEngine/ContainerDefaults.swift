/// Docker's defaults for the `Config` and `HostConfig` of a new container: every key that
/// `docker inspect` shows, so clients and templates find the fields they expect.
enum ContainerDefaults {
    static let config: JSONValue = .object([
        "Hostname": .string(""), "Domainname": .string(""), "User": .string(""),
        "AttachStdin": .bool(false), "AttachStdout": .bool(false), "AttachStderr": .bool(false),
        "Tty": .bool(false), "OpenStdin": .bool(false), "StdinOnce": .bool(false),
        "Env": .null, "Cmd": .null, "Image": .string(""), "Volumes": .null, "WorkingDir": .string(""),
        "Entrypoint": .null, "OnBuild": .null, "Labels": .object([:]),
    ])

    static let hostConfig: JSONValue = .object([
        "Binds": .null, "ContainerIDFile": .string(""),
        "LogConfig": .object(["Type": .string("json-file"), "Config": .object([:])]),
        "NetworkMode": .string("default"), "PortBindings": .object([:]),
        "RestartPolicy": .object(["Name": .string("no"), "MaximumRetryCount": .int(0)]),
        "AutoRemove": .bool(false), "VolumeDriver": .string(""), "VolumesFrom": .null,
        "ConsoleSize": .array([.int(0), .int(0)]), "CapAdd": .null, "CapDrop": .null,
        "CgroupnsMode": .string("private"), "Dns": .array([]), "DnsOptions": .array([]), "DnsSearch": .array([]),
        "ExtraHosts": .null, "GroupAdd": .null, "IpcMode": .string("private"), "Cgroup": .string(""), "Links": .null,
        "OomScoreAdj": .int(0), "PidMode": .string(""), "Privileged": .bool(false), "PublishAllPorts": .bool(false),
        "ReadonlyRootfs": .bool(false), "SecurityOpt": .null, "UTSMode": .string(""), "UsernsMode": .string(""),
        "ShmSize": .int(67_108_864), "Runtime": .string("berth-runtime"), "Isolation": .string(""),
        "CpuShares": .int(0), "Memory": .int(0), "NanoCpus": .int(0), "CgroupParent": .string(""),
        "BlkioWeight": .int(0), "BlkioWeightDevice": .array([]), "BlkioDeviceReadBps": .array([]),
        "BlkioDeviceWriteBps": .array([]), "BlkioDeviceReadIOps": .array([]), "BlkioDeviceWriteIOps": .array([]),
        "CpuPeriod": .int(0), "CpuQuota": .int(0), "CpuRealtimePeriod": .int(0), "CpuRealtimeRuntime": .int(0),
        "CpusetCpus": .string(""), "CpusetMems": .string(""), "Devices": .array([]), "DeviceCgroupRules": .null,
        "DeviceRequests": .null, "MemoryReservation": .int(0), "MemorySwap": .int(0), "MemorySwappiness": .null,
        "OomKillDisable": .null, "PidsLimit": .null, "Ulimits": .array([]), "CpuCount": .int(0), "CpuPercent": .int(0),
        "IOMaximumIOps": .int(0), "IOMaximumBandwidth": .int(0), "Init": .null, "Tmpfs": .null, "Sysctls": .null,
        "MaskedPaths": .array(DefaultPaths.masked.map(JSONValue.string)),
        "ReadonlyPaths": .array(DefaultPaths.readonly.map(JSONValue.string)),
    ])

    /// Docker's default capability set for unprivileged containers.
    static let capabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]
}

/// Paths masked or made read-only inside unprivileged containers (Docker's lists).
enum DefaultPaths {
    static let masked = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    static let readonly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
}
