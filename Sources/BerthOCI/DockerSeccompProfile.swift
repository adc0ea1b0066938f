/// Docker's seccomp profile format (`seccomp-default.json`, `--security-opt seccomp=FILE`).
///
/// It differs from the runtime spec's form by `archMap` and by rules that apply only with or
/// without certain capabilities, architectures or kernels; `runtimeSpec(...)` resolves those.
public struct DockerSeccompProfile: Codable, Equatable, Sendable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var archMap: [ArchMap]?
    public var flags: [String]?
    public var listenerPath: String?
    public var syscalls: [Rule]?

    public init(defaultAction: String, defaultErrnoRet: UInt32? = nil, archMap: [ArchMap]? = nil, syscalls: [Rule]) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.archMap = archMap
        self.syscalls = syscalls
    }

    public struct ArchMap: Codable, Equatable, Sendable {
        public var architecture: String
        public var subArchitectures: [String]?

        public init(architecture: String, subArchitectures: [String]? = nil) {
            self.architecture = architecture
            self.subArchitectures = subArchitectures
        }
    }

    public struct Filter: Codable, Equatable, Sendable {
        public var caps: [String]?
        public var arches: [String]?
        public var minKernel: String?

        public init(caps: [String]? = nil, arches: [String]? = nil, minKernel: String? = nil) {
            self.caps = caps
            self.arches = arches
            self.minKernel = minKernel
        }
    }

    public struct Rule: Codable, Equatable, Sendable {
        public var names: [String]?
        public var name: String?
        public var action: String
        public var errnoRet: UInt32?
        public var args: [RuntimeSpec.SyscallArg]?
        public var comment: String?
        public var includes: Filter?
        public var excludes: Filter?

        public init(names: [String]?, name: String? = nil, action: String, errnoRet: UInt32? = nil, args: [RuntimeSpec.SyscallArg]? = nil,
                    comment: String? = nil, includes: Filter? = nil, excludes: Filter? = nil) {
            self.names = names
            self.name = name
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.comment = comment
            self.includes = includes
            self.excludes = excludes
        }
    }

    /// The filter for a container with `capabilities` (e.g. `CAP_SYS_ADMIN`) on `architecture`
    /// (Go's name: `amd64`, `arm64`) running on kernel `kernelVersion` (e.g. "6.1").
    public func runtimeSpec(capabilities: Set<String>, architecture: String = Platform.current.architecture,
                            kernelVersion: String? = nil) -> RuntimeSpec.Seccomp {
        let nativeSeccompArch = Self.seccompArch(goArch: architecture)
        var arches = architectures ?? []
        if let archMap {
            for entry in archMap where entry.architecture == nativeSeccompArch {
                arches.append(entry.architecture)
                arches.append(contentsOf: entry.subArchitectures ?? [])
            }
        }
        let kernel = kernelVersion.map(Self.versionComponents)
        func applies(_ rule: Rule) -> Bool {
            if let inc = rule.includes {
                if let caps = inc.caps, !caps.allSatisfy(capabilities.contains) { return false }
                if let a = inc.arches, !a.contains(architecture) { return false }
                if let min = inc.minKernel, let kernel, kernel.lexicographicallyPrecedes(Self.versionComponents(min)) {
                    return false
                }
            }
            if let exc = rule.excludes {
                if let caps = exc.caps, caps.contains(where: capabilities.contains) { return false }
                if let a = exc.arches, a.contains(architecture) { return false }
            }
            return true
        }
        let syscalls: [RuntimeSpec.Syscall] = (syscalls ?? []).filter(applies).compactMap { rule in
            let names = rule.names ?? rule.name.map { [$0] } ?? []
            guard !names.isEmpty else { return nil }
            return RuntimeSpec.Syscall(names: names, action: rule.action, errnoRet: rule.errnoRet, args: rule.args)
        }
        var spec = RuntimeSpec.Seccomp(defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet,
                                       architectures: arches.isEmpty ? nil : arches, flags: flags, syscalls: syscalls)
        spec.listenerPath = listenerPath
        return spec
    }

    static func seccompArch(goArch: String) -> String {
        switch goArch {
        case "amd64": return "SCMP_ARCH_X86_64"
        case "386": return "SCMP_ARCH_X86"
        case "arm64": return "SCMP_ARCH_AARCH64"
        case "arm": return "SCMP_ARCH_ARM"
        case "ppc64le": return "SCMP_ARCH_PPC64LE"
        case "s390x": return "SCMP_ARCH_S390X"
        case "riscv64": return "SCMP_ARCH_RISCV64"
        default: return "SCMP_ARCH_" + goArch.uppercased()
        }
    }

    static func versionComponents(_ version: String) -> [Int] {
        version.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    }
}
