import BerthOCI

/// The `features` document (runtime-spec features.md): what this runtime implements.
public struct Features: Codable, Sendable {
    public var ociVersionMin = "1.0.0"
    public var ociVersionMax = RuntimeSpec.version
    public var hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    public var mountOptions: [String]
    public var linux: Linux
    public var annotations: [String: String]

    public struct Linux: Codable, Sendable {
        public var namespaces: [String]
        public var capabilities: [String]
        public var cgroup: Cgroup
        public var seccomp: Seccomp
        public var apparmor = Enabled(enabled: false)
        public var selinux = Enabled(enabled: false)
        public var intelRdt = Enabled(enabled: false)
        public var mountExtensions = MountExtensions()
    }

    public struct Cgroup: Codable, Sendable {
        public var v1: Bool
        public var v2: Bool
        public var systemd = false
        public var systemdUser = false
        public var rdma = false
    }

    public struct Seccomp: Codable, Sendable {
        public var enabled = true
        public var actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                              "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]
        public var operators = ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
        public var archs = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        public var knownFlags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
        public var supportedFlags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    }

    public struct Enabled: Codable, Sendable { public var enabled: Bool }

    public struct MountExtensions: Codable, Sendable {
        public var idmap = Enabled(enabled: false)
    }

    public static func current(capabilities: [String]) -> Features {
        let isUnified = CgroupFactory.isUnified
        return Features(
            mountOptions: (Array(MountOptions.flagTable.keys) + Array(MountOptions.propagationTable.keys) + Array(MountOptions.recursiveTable.keys)
                           + ["bind", "rbind"]).sorted(),
            linux: Linux(namespaces: RuntimeSpec.NamespaceType.allCases.map(\.rawValue), capabilities: capabilities,
                         cgroup: Cgroup(v1: !isUnified, v2: isUnified), seccomp: Seccomp()),
            annotations: ["org.opencontainers.runc.checkpoint.enabled": "false", "io.github.berth.runtime": "berth-runtime"])
    }
}
