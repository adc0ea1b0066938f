import BerthOCI
import Foundation

/// Docker's default seccomp profile: the copy in the shared specs next to the checkout when there
/// is one, else a profile in the same format with the rules these tests rely on.
enum DockerProfileFixture {
    static func load() throws -> DockerSeccompProfile {
        let shared = RuntimeHarness.packageRoot + "/../shared/specs/security/seccomp-default.json"
        if let data = FileManager.default.contents(atPath: shared) {
            return try JSONDecoder().decode(DockerSeccompProfile.self, from: data)
        }
        let json = #"""
        {
          "defaultAction": "SCMP_ACT_ERRNO",
          "defaultErrnoRet": 1,
          "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
          "syscalls": [
            {"names": ["accept", "access", "arch_prctl", "brk", "capget", "capset", "chdir", "clock_gettime", "clock_nanosleep",
                       "clone", "close", "close_range", "dup", "dup2", "dup3", "execve", "exit", "exit_group", "fcntl", "fstat",
                       "futex", "getcwd", "getdents64", "getegid", "geteuid", "getgid", "getpid", "getppid", "getuid",
                       "ioctl", "lseek", "mmap", "mprotect", "munmap", "nanosleep", "newfstatat", "open", "openat",
                       "pipe", "pipe2", "prctl", "read", "readlink", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
                       "set_tid_address", "stat", "statx", "uname", "wait4", "write", "writev", "fork", "vfork", "lstat",
                       "getpgrp", "setpgid", "getrlimit", "prlimit64", "set_robust_list", "rseq", "sigaltstack", "umask",
                       "setgroups", "getgroups", "setresuid", "setresgid", "setuid", "setgid"],
             "action": "SCMP_ACT_ALLOW"},
            {"names": ["unshare", "mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
          ]
        }
        """#
        return try JSONDecoder().decode(DockerSeccompProfile.self, from: Data(json.utf8))
    }
}
