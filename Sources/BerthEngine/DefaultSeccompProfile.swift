import BerthOCI

/// Berth's built-in seccomp profile, in Docker's profile format so the same resolution (by
/// capabilities, architecture and kernel) serves it and user profiles: everything not listed
/// fails with EPERM; syscalls that only make sense with a capability are allowed only with it;
/// `clone` may not create namespaces without CAP_SYS_ADMIN; `clone3`, whose flags seccomp cannot
/// inspect, answers ENOSYS then so that the C library falls back to `clone`.
enum DefaultSeccompProfile {
    static let allowed: [String] = [
        // Files and directories.
        "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup", "dup2", "dup3",
        "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown",
        "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
        "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "lchown", "lchown32", "link", "linkat",
        "_llseek", "lseek", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open",
        "openat", "openat2", "pipe", "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "splice", "stat", "stat64",
        "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64",
        "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
        // Extended attributes and file notifications.
        "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr", "lremovexattr",
        "lsetxattr", "removexattr", "setxattr", "getxattrat", "setxattrat", "listxattrat", "removexattrat", "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
        // Memory.
        "brk", "cachestat", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2",
        "mlockall", "mmap", "mmap2", "mprotect", "mseal", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "remap_file_pages",
        // Processes, threads, credentials, limits.
        "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "vfork", "getegid", "getegid32", "geteuid",
        "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "gettid",
        "getuid", "getuid32", "ioprio_get", "ioprio_set", "prctl", "prlimit64", "process_mrelease", "restart_syscall", "rseq",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
        "setgid", "setgid32", "setgroups", "setgroups32", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
        "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "set_thread_area", "get_thread_area", "set_tid_address", "setuid", "setuid32", "ugetrlimit", "wait4", "waitid", "waitpid",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "getcpu",
        // Signals, timers, clocks, waiting.
        "alarm", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
        "clock_nanosleep_time64", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
        "futex_wake", "getitimer", "gettimeofday", "kill", "nanosleep", "pause", "pidfd_open", "pidfd_send_signal", "poll", "ppoll",
        "ppoll_time64", "pselect6", "pselect6_time64", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "select", "_newselect",
        "setitimer", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "adjtimex",
        "clock_adjtime", "clock_adjtime64",
        // Sockets.
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socketcall",
        "socketpair",
        // System V and POSIX IPC, async I/O.
        "ipc", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat",
        "shmctl", "shmdt", "shmget", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "io_setup", "io_submit",
        // Devices and system information.
        "ioctl", "getrandom", "sysinfo", "uname", "listmount", "statmount", "uretprobe",
    ]

    /// Syscalls allowed only to a container that holds the capability.
    static let byCapability: [(String, [String])] = [
        ("CAP_SYS_ADMIN", ["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
                           "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr", "move_mount",
                           "open_tree", "perf_event_open", "quotactl",
                           "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"]),
        ("CAP_SYS_BOOT", ["reboot", "kexec_load", "kexec_file_load"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
    ]

    /// The namespace flags of `clone` (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET).
    static let namespaceFlags: UInt64 = 0x7E02_0000

    static let profile: DockerSeccompProfile = {
        func rule(_ names: [String], _ action: String = "SCMP_ACT_ALLOW", errno: UInt32? = nil, args: [RuntimeSpec.SyscallArg]? = nil,
                  includes: DockerSeccompProfile.Filter? = nil, excludes: DockerSeccompProfile.Filter? = nil) -> DockerSeccompProfile.Rule {
            DockerSeccompProfile.Rule(names: names, name: nil, action: action, errnoRet: errno, args: args, comment: nil,
                                      includes: includes, excludes: excludes)
        }
        var rules = [rule(allowed)]
        // personality(2): the Linux personas and the query, nothing that weakens the address space.
        for persona: UInt64 in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(rule(["personality"], args: [.init(index: 0, value: persona, op: "SCMP_CMP_EQ")]))
        }
        // Any socket family but AF_VSOCK (40), which reaches the host's hypervisor services.
        rules.append(rule(["socket"], args: [.init(index: 0, value: 40, op: "SCMP_CMP_NE")]))
        rules.append(rule(["ptrace"], includes: .init(minKernel: "4.8")))
        rules.append(rule(["arch_prctl", "modify_ldt"], includes: .init(arches: ["amd64", "x32"])))
        rules.append(rule(["modify_ldt"], includes: .init(arches: ["386"])))
        rules.append(rule(["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
                          includes: .init(arches: ["arm", "arm64"])))
        rules.append(rule(["riscv_flush_icache", "riscv_hwprobe"], includes: .init(arches: ["riscv64"])))
        for (capability, names) in byCapability { rules.append(rule(names, includes: .init(caps: [capability]))) }
        rules.append(rule(["clone"], args: [.init(index: 0, value: namespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")],
                          excludes: .init(caps: ["CAP_SYS_ADMIN"])))
        rules.append(rule(["clone3"], "SCMP_ACT_ERRNO", errno: 38, excludes: .init(caps: ["CAP_SYS_ADMIN"])))
        return DockerSeccompProfile(defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
                                    archMap: [.init(architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
                                              .init(architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"])],
                                    syscalls: rules)
    }()
}
