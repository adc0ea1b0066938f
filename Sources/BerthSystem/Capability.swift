import CBerthSystem
import Glibc

/// Linux capabilities by name (`CAP_SYS_ADMIN`) and as bit numbers.
public enum Capability {
    /// Names in kernel order: the index is the capability number.
    public static let names = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The capability number for `name`, accepting `CAP_X` and `x`.
    public static func number(_ name: String) -> Int? {
        let upper = name.uppercased()
        return names.firstIndex(of: upper.hasPrefix("CAP_") ? upper : "CAP_" + upper)
    }

    /// The highest capability the running kernel knows (probed once).
    public static let lastSupported = Int(berth_last_cap())

    /// A bit mask from capability names; unknown names are returned in `unknown`.
    public static func mask(_ list: [String]?) -> (mask: UInt64, unknown: [String]) {
        var mask: UInt64 = 0
        var unknown: [String] = []
        for name in list ?? [] {
            if let n = number(name) { mask |= 1 << UInt64(n) } else { unknown.append(name) }
        }
        return (mask, unknown)
    }

    public static func dropFromBoundingSet(keeping keep: UInt64) throws {
        for cap in 0...lastSupported where keep & (1 << UInt64(cap)) == 0 {
            let result = berth_capbset_drop(Int32(cap))
            // EINVAL: the kernel does not know this capability; nothing to drop.
            if result != 0 && errno != EINVAL { throw SystemError("drop \(names[safe: cap] ?? "cap \(cap)") from bounding set") }
        }
    }

    public static func set(effective: UInt64, permitted: UInt64, inheritable: UInt64) throws {
        try syscallChecked("capset") { berth_capset(effective, permitted, inheritable) }
    }

    public static func raiseAmbient(_ mask: UInt64) throws {
        for cap in 0...lastSupported where mask & (1 << UInt64(cap)) != 0 {
            try syscallChecked("raise ambient \(names[safe: cap] ?? "cap \(cap)")") { berth_cap_ambient_raise(Int32(cap)) }
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
