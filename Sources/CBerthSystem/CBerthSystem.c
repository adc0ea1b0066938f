#include "CBerthSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/bpf.h>
#include <linux/openat2.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/mount.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

const int BERTH_CLONE_NEWNS = CLONE_NEWNS;
const int BERTH_CLONE_NEWUTS = CLONE_NEWUTS;
const int BERTH_CLONE_NEWIPC = CLONE_NEWIPC;
const int BERTH_CLONE_NEWUSER = CLONE_NEWUSER;
const int BERTH_CLONE_NEWPID = CLONE_NEWPID;
const int BERTH_CLONE_NEWNET = CLONE_NEWNET;
const int BERTH_CLONE_NEWCGROUP = CLONE_NEWCGROUP;
const int BERTH_CLONE_NEWTIME = CLONE_NEWTIME;

const uint64_t BERTH_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT;
const uint64_t BERTH_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t BERTH_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t BERTH_RESOLVE_BENEATH = RESOLVE_BENEATH;
const int BERTH_O_PATH = O_PATH;

pid_t berth_fork(void) { return fork(); }
int berth_unshare(int flags) { return unshare(flags); }
int berth_setns(int fd, int nstype) { return setns(fd, nstype); }
int berth_ns_type(int fd) { return ioctl(fd, 0xb703 /* NS_GET_NSTYPE */); }
int berth_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}
int berth_sethostname(const char *name, size_t len) { return sethostname(name, len); }
int berth_setdomainname(const char *name, size_t len) { return setdomainname(name, len); }

int berth_setresuid(uid_t uid) { return setresuid(uid, uid, uid); }
int berth_setresgid(gid_t gid) { return setresgid(gid, gid, gid); }

int berth_setresgid_root(void) {
    if (setresgid(0, 0, 0) < 0) return -1;
    return setresuid(0, 0, 0);
}

int berth_wifexited(int status) { return WIFEXITED(status); }
int berth_wexitstatus(int status) { return WEXITSTATUS(status); }
int berth_wifsignaled(int status) { return WIFSIGNALED(status); }
int berth_wtermsig(int status) { return WTERMSIG(status); }

int berth_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int berth_set_keepcaps(int on) { return prctl(PR_SET_KEEPCAPS, on, 0, 0, 0); }
int berth_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }
int berth_cap_ambient_raise(int cap) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0); }
int berth_set_child_subreaper(int on) { return prctl(PR_SET_CHILD_SUBREAPER, on, 0, 0, 0); }

int berth_last_cap(void) {
    /* The kernel tells us through the bounding-set probe: the highest cap it accepts. */
    int cap = 0;
    while (cap < 64 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) cap++;
    return cap;
}

int berth_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)effective;
    data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;
    data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable;
    data[1].inheritable = (uint32_t)(inheritable >> 32);
    return (int)syscall(SYS_capset, &hdr, data);
}

int berth_setrlimit(int resource, uint64_t soft, uint64_t hard) {
    struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };
    return setrlimit(resource, &rl);
}

int berth_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, flags);
}

int berth_set_nonblock(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

/* One pass over /proc/self/fd applying close (or FD_CLOEXEC) to the descriptors in
 * [first, last]; returns how many it touched, or -1. getdents64 on a raw buffer: no malloc,
 * safe in a forked child. */
static int fd_range_pass(unsigned int first, unsigned int last, int cloexec) {
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    char buffer[4096];
    int touched = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dir, buffer, sizeof buffer);
        if (n <= 0) break;
        for (long offset = 0; offset < n;) {
            struct linux_dirent64_view { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };
            struct linux_dirent64_view *entry = (struct linux_dirent64_view *)(buffer + offset);
            offset += entry->reclen;
            char *end;
            unsigned long fd = strtoul(entry->name, &end, 10);
            if (end == entry->name || *end != 0 || fd == (unsigned long)dir || fd < first || fd > last) continue;
            if (cloexec) {
                int flags = fcntl((int)fd, F_GETFD);
                if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
            } else {
                close((int)fd);
            }
            touched++;
        }
    }
    close(dir);
    return touched;
}

/* close_range(first, last), or (`cloexec`) marking them close-on-exec. Where the kernel lacks
 * close_range (before 5.9, 5.11 for CLOEXEC) or a seccomp filter refuses it, the same is done
 * one descriptor at a time: a descriptor left open would leak into the container. */
long long berth_mount_id(const char *path) {
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) return -1;
    return (long long)stx.stx_mnt_id;
}

int berth_fd_range(unsigned int first, unsigned int last, int cloexec) {
    if (first > last) return 0;
    if (syscall(SYS_close_range, first, last, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0) return 0;
    if (cloexec) return fd_range_pass(first, last, 1) < 0 ? -1 : 0;
    /* Closing changes the directory being read: repeat until a pass finds nothing to close. */
    for (int pass = 0; pass < 64; pass++) {
        int touched = fd_range_pass(first, last, 0);
        if (touched < 0) return -1;
        if (touched == 0) return 0;
    }
    return 0;
}

int berth_cloexec_from(unsigned int first) {
    return berth_fd_range(first, ~0U, 1);
}

int berth_close_range(unsigned int first, unsigned int last) {
    return berth_fd_range(first, last, 0);
}

int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = flags | O_CLOEXEC;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int berth_send_fd(int sock, int fd, const void *data, size_t len) {
    char dummy = 0;
    struct iovec iov = { .iov_base = (void *)(data ? data : &dummy), .iov_len = data ? len : 1 };
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    memset(&u, 0, sizeof(u));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int berth_recv_fd(int sock, void *data, size_t len, ssize_t *received) {
    char dummy;
    struct iovec iov = { .iov_base = data ? data : &dummy, .iov_len = data ? len : 1 };
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (received) *received = n;
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof(int));
            return fd;
        }
    }
    return -2; /* a message without a descriptor */
}

int berth_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int berth_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

uint64_t berth_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }

int berth_open_ptmx(const char *ptmx, int *pts_number) {
    int fd = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    int unlock = 0;
    if (ioctl(fd, TIOCSPTLCK, &unlock) < 0 || ioctl(fd, TIOCGPTN, pts_number) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int berth_set_ctty(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

int berth_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

void berth_reset_signals(void) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        signal(s, SIG_DFL);
    }
}

int berth_block_signals(void) {
    sigset_t all;
    sigfillset(&all);
    return sigprocmask(SIG_BLOCK, &all, NULL);
}

int berth_signalfd_all(void) {
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    return signalfd(-1, &all, SFD_CLOEXEC);
}

long berth_join_session_keyring(const char *name) {
    return syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name);
}

static int exe_is_sealed(void) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int seals = fcntl(fd, F_GET_SEALS);
    close(fd);
    const int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    return seals >= 0 && (seals & want) == want;
}

int berth_exe_is_protected(void) {
    if (exe_is_sealed()) return 1;
    struct statvfs st;
    return statvfs("/proc/self/exe", &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

static int exec_readonly_bind(char *const argv[], char *const envp[]) {
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0) return -1;
    path[n] = 0;
    if (strstr(path, " (deleted)") || path[0] != '/') return -1;
    if (unshare(CLONE_NEWNS) < 0) return -1;
    /* Nothing done here may reach the host's mount table. */
    if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) return -1;
    if (mount(path, path, NULL, MS_BIND, NULL) < 0) return -1;
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) return -1;
    execve(path, argv, envp);
    return -1;
}

static int exec_sealed_memfd(char *const argv[], char *const envp[]) {
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0) return -1;
    struct stat st;
    if (fstat(src, &st) < 0) { close(src); return -1; }
    int mem = memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mem < 0) { close(src); return -1; }
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(mem, src, NULL, (size_t)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { close(src); close(mem); return -1; }
        left -= n;
    }
    close(src);
    if (fcntl(mem, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
        close(mem);
        return -1;
    }
    fexecve(mem, argv, envp);
    int saved = errno;
    close(mem);
    errno = saved;
    return -1;
}

int berth_exec_protected_self(char *const argv[], char *const envp[]) {
    if (getenv("BERTH_RUNTIME_MEMFD") == NULL) exec_readonly_bind(argv, envp);
    return exec_sealed_memfd(argv, envp);
}

int berth_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

long berth_fs_type(const char *path) {
    struct statfs st;
    if (statfs(path, &st) < 0) return -1;
    return (long)st.f_type;
}

int berth_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    return n == (ssize_t)sizeof(info) ? (int)info.ssi_signo : -1;
}
int berth_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int berth_cgroup_device_program_attach(int cgroup_fd, const uint64_t *insns, unsigned int count,
                                       char *log, unsigned int log_size) {
    union bpf_attr load;
    memset(&load, 0, sizeof(load));
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (uint64_t)(uintptr_t)insns;
    load.insn_cnt = count;
    load.license = (uint64_t)(uintptr_t)"Apache";
    load.log_buf = (uint64_t)(uintptr_t)log;
    load.log_size = log_size;
    load.log_level = log_size > 0 ? 1 : 0;
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
    if (prog < 0 && log_size > 0 && errno == ENOSPC) {
        load.log_buf = 0; load.log_size = 0; load.log_level = 0;
        prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
    }
    if (prog < 0) return -1;
    union bpf_attr attach;
    memset(&attach, 0, sizeof(attach));
    attach.target_fd = cgroup_fd;
    attach.attach_bpf_fd = prog;
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
    int saved = errno;
    close(prog); /* the attachment keeps the program alive */
    errno = saved;
    return rc;
}

int berth_lsetxattr(const char *path, const char *name, const void *value, size_t size) {
    return lsetxattr(path, name, value, size, 0);
}

long berth_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return (long)lgetxattr(path, name, value, size);
}

/* ---- Memory ---- */

int berth_malloc_trim(void) { return malloc_trim(0); }

int berth_madvise_dontneed(uintptr_t start, size_t length) {
    return madvise((void *)start, length, MADV_DONTNEED);
}

/* ---- seccomp ---- */

const unsigned int BERTH_SECCOMP_FILTER_FLAG_TSYNC = SECCOMP_FILTER_FLAG_TSYNC;
const unsigned int BERTH_SECCOMP_FILTER_FLAG_LOG = SECCOMP_FILTER_FLAG_LOG;
const unsigned int BERTH_SECCOMP_FILTER_FLAG_SPEC_ALLOW = SECCOMP_FILTER_FLAG_SPEC_ALLOW;

int berth_seccomp_set_filter(const void *instructions, unsigned int count, unsigned int flags) {
    /* The length field is 16 bits: a longer program must fail, not load truncated. */
    if (count == 0 || count > 0xffff) { errno = E2BIG; return -1; }
    struct sock_fprog program = { .len = (unsigned short)count, .filter = (struct sock_filter *)instructions };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
}

int berth_spawn_closefrom(posix_spawn_file_actions_t *actions, int first) {
    return posix_spawn_file_actions_addclosefrom_np(actions, first);
}
