import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc

/// The last steps before a container process runs user code: limits, identity, capabilities,
/// seccomp, descriptors, exec. Shared by the container init and by `exec`.
struct ProcessSetup {
    let process: RuntimeSpec.Process
    let seccomp: SeccompProgram?
    let containerID: String
    let newKeyring: Bool
    let preserveFDs: Int32
    /// In a user namespace whose gid map was written without setgroups, supplementary groups stay as they are.
    let canSetGroups: Bool

    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Finds `args[0]` the way execvp would, in the current (container) root.
    func resolveExecutable() throws -> String {
        guard let name = process.args?.first, !name.isEmpty else {
            throw RuntimeError.invalidConfig("process.args must name a program")
        }
        // Worded as Go's exec.LookPath (runc's): dockerd and the docker CLI read "no such file or
        // directory" and "executable file not found" as exit 127, "permission denied" as 126.
        if name.contains("/") {
            var st = stat()
            guard stat(name, &st) == 0 else { throw RuntimeError.setup("exec: \"\(name)\": stat \(name): \(Self.errorText(errno))") }
            guard (st.st_mode & S_IFMT) != S_IFDIR, access(name, X_OK) == 0 else {
                throw RuntimeError.setup("exec: \"\(name)\": permission denied")
            }
            return name
        }
        let pathValue = (process.env ?? []).last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? Self.defaultPath
        for dir in pathValue.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        throw RuntimeError.setup("exec: \"\(name)\": executable file not found in $PATH")
    }

    /// Resource limits, OOM score, keyring: while still privileged.
    func applyLimits() throws {
        for limit in process.rlimits ?? [] {
            guard let resource = Self.rlimitTable[limit.type] else {
                throw RuntimeError.invalidConfig("unknown rlimit \(limit.type)")
            }
            if berth_setrlimit(resource, limit.soft, limit.hard) != 0 {
                let reason = errno == EPERM ? " (raising a hard limit needs CAP_SYS_RESOURCE, which this runtime does not have)" : ""
                throw RuntimeError.setup("set \(limit.type) to soft=\(limit.soft) hard=\(limit.hard): \(String(cString: strerror(errno)))\(reason)")
            }
        }
        if let score = process.oomScoreAdj {
            do { try SmallFile.write("/proc/self/oom_score_adj", "\(score)") } catch {
                // Lowering the score needs CAP_SYS_RESOURCE; not worth failing the container over.
                RuntimeLog.shared.warning("cannot set oom_score_adj to \(score): \(error)")
            }
        }
        if newKeyring {
            // Keyrings are not namespaced: a fresh session keyring hides the host's keys. Older kernels lack it.
            _ = berth_join_session_keyring("_ses.\(containerID)")
        }
    }

    /// Drops to the configured user and capabilities, applies seccomp and execs. Never returns on success.
    ///
    /// The container's seccomp filter may refuse anything the runtime itself would call, so all
    /// the runtime's own work (the descriptor sweep, signals, cwd, umask) is done before it is
    /// loaded. With no_new_privs the filter comes last, just before execve. Without it, loading
    /// needs CAP_SYS_ADMIN, which the user switch may drop: it is loaded before the switch, and
    /// only the identity calls (setgroups, setres[ug]id, capset, prctl) and execve follow, as in
    /// runc — a profile that refuses those cannot start a process as another user anyway.
    func execute(_ path: String, cwd: String) throws -> Never {
        // CVE-2024-21626: nothing of the runtime's may survive exec except stdio and preserved fds.
        try FileDescriptors.cloexecFrom(3 + preserveFDs)
        for fd in 3..<(3 + preserveFDs) { try? FileDescriptors.setCloexec(fd, false) }
        berth_reset_signals()
        // As root first; a directory only the container's user may enter is retried after the switch.
        let enteredCwd = chdir(cwd) == 0
        if !enteredCwd && errno != EACCES && errno != EPERM { try Self.failChdir(cwd) }
        if enteredCwd { try Self.checkCwdInside(cwd) }
        umask(mode_t(process.user.umask ?? 0o022))

        let noNewPrivileges = process.noNewPrivileges ?? false
        if noNewPrivileges { try syscallChecked("set no_new_privs") { berth_set_no_new_privs() } }
        if !noNewPrivileges, let seccomp { try seccomp.load() }

        let caps = process.capabilities
        let bounding = try mask(caps?.bounding, "bounding")
        try Capability.dropFromBoundingSet(keeping: bounding)
        try syscallChecked("keep capabilities") { berth_set_keepcaps(1) }
        let user = process.user
        if canSetGroups {
            let groups = (user.additionalGids ?? []).map { gid_t($0) }
            try syscallChecked("setgroups") { setgroups(groups.count, groups) }
        }
        try syscallChecked("setgid \(user.gid)") { berth_setresgid(user.gid) }
        try syscallChecked("setuid \(user.uid)") { berth_setresuid(user.uid) }
        let permitted = try mask(caps?.permitted, "permitted")
        let inheritable = try mask(caps?.inheritable, "inheritable")
        try Capability.set(effective: try mask(caps?.effective, "effective"), permitted: permitted, inheritable: inheritable)
        // The kernel raises an ambient capability only if it is permitted and inheritable; runc's
        // default spec lists ambient ones it cannot get, so the rest are skipped, not fatal.
        let ambient = try mask(caps?.ambient, "ambient")
        if ambient & ~(permitted & inheritable) != 0 {
            RuntimeLog.shared.debug("ambient capabilities not also permitted and inheritable are skipped")
        }
        try Capability.raiseAmbient(ambient & permitted & inheritable)
        try syscallChecked("clear keep capabilities") { berth_set_keepcaps(0) }
        if !enteredCwd {
            guard chdir(cwd) == 0 else { try Self.failChdir(cwd) }
            try Self.checkCwdInside(cwd)
        }
        if noNewPrivileges, let seccomp { try seccomp.load() }
        let error = Processes.exec(path: path, args: process.args ?? [], env: process.env ?? [])
        throw RuntimeError.setup("exec \(path): \(Self.errorText(error.errno.rawValue))")
    }

    /// strerror as Go spells it (lower case: "no such file or directory"), which callers match.
    static func errorText(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    private static func failChdir(_ cwd: String) throws -> Never {
        throw RuntimeError.setup("chdir to cwd (\"\(cwd)\") set in config.json failed: \(errorText(errno))")
    }

    /// A cwd outside our root (reached through a leaked fd) reads back as unreachable.
    private static func checkCwdInside(_ cwd: String) throws {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil, buffer[0] == CChar(UInt8(ascii: "/")) else {
            throw RuntimeError.setup("cwd \"\(cwd)\" is outside the container's root filesystem")
        }
    }

    private func mask(_ names: [String]?, _ set: String) throws -> UInt64 {
        let (mask, unknown) = Capability.mask(names)
        if !unknown.isEmpty {
            throw RuntimeError.invalidConfig("unknown capabilities in \(set) set: \(unknown.joined(separator: ", "))")
        }
        // Capabilities the kernel does not know are ignored (a newer spec on an older kernel).
        let known: UInt64 = Capability.lastSupported >= 63 ? ~0 : (1 << UInt64(Capability.lastSupported + 1)) - 1
        return mask & known
    }

    static let rlimitTable: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]
}
