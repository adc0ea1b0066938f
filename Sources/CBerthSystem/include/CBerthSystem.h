#ifndef CBERTHSYSTEM_H
#define CBERTHSYSTEM_H

#include <stdint.h>
#include <sys/types.h>
#include <spawn.h>

/* Namespace flags (visible to Swift only through these constants). */
extern const int BERTH_CLONE_NEWNS;
extern const int BERTH_CLONE_NEWUTS;
extern const int BERTH_CLONE_NEWIPC;
extern const int BERTH_CLONE_NEWUSER;
extern const int BERTH_CLONE_NEWPID;
extern const int BERTH_CLONE_NEWNET;
extern const int BERTH_CLONE_NEWCGROUP;
extern const int BERTH_CLONE_NEWTIME;

/* Process creation and namespaces. */
pid_t berth_fork(void);
int berth_unshare(int flags);
int berth_setns(int fd, int nstype);
/* The CLONE_NEW* type of the namespace behind fd, or -1 (not a namespace). */
int berth_ns_type(int fd);
int berth_pivot_root(const char *new_root, const char *put_old);
int berth_sethostname(const char *name, size_t len);
int berth_setdomainname(const char *name, size_t len);

int berth_setresuid(uid_t uid);
int berth_setresgid(gid_t gid);
/* setresgid(0) and setresuid(0): become root of a fresh user namespace. */
int berth_setresgid_root(void);

/* Wait status decoding (macros in C). */
int berth_wifexited(int status);
int berth_wexitstatus(int status);
int berth_wifsignaled(int status);
int berth_wtermsig(int status);

/* prctl. */
int berth_set_no_new_privs(void);
int berth_set_keepcaps(int on);
int berth_capbset_drop(int cap);
int berth_cap_ambient_raise(int cap);
int berth_set_child_subreaper(int on);
int berth_last_cap(void);

/* Capabilities: all three sets at once, as 64-bit masks (capset v3). */
int berth_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);

/* Resource limits. */
int berth_setrlimit(int resource, uint64_t soft, uint64_t hard);

/* File descriptors. */
int berth_set_cloexec(int fd, int on);
int berth_set_nonblock(int fd, int on);
/* close_range with a per-descriptor fallback (old kernels, seccomp filters that refuse it). */
/* The id of the mount `path` is on (statx STATX_MNT_ID), or -1. */
long long berth_mount_id(const char *path);
int berth_fd_range(unsigned int first, unsigned int last, int cloexec);
int berth_cloexec_from(unsigned int first);
int berth_close_range(unsigned int first, unsigned int last);
int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
extern const uint64_t BERTH_RESOLVE_IN_ROOT;
extern const uint64_t BERTH_RESOLVE_NO_MAGICLINKS;
extern const uint64_t BERTH_RESOLVE_NO_SYMLINKS;
extern const uint64_t BERTH_RESOLVE_BENEATH;
extern const int BERTH_O_PATH;
int berth_send_fd(int sock, int fd, const void *data, size_t len);
/* Returns the received fd, -2 when the message carried none, -1 on error. */
int berth_recv_fd(int sock, void *data, size_t len, ssize_t *received);
int berth_pidfd_open(pid_t pid);
int berth_pidfd_send_signal(int pidfd, int sig);

int berth_pipe_cloexec(int fds[2]);
/* posix_spawn: close every descriptor from `first` up in the child (glibc 2.34+). */
int berth_spawn_closefrom(posix_spawn_file_actions_t *actions, int first);
int berth_memfd(const char *name);
long berth_fs_type(const char *path);

/* Devices and terminals. */
uint64_t berth_makedev(unsigned int major, unsigned int minor);
int berth_open_ptmx(const char *ptmx, int *pts_number);
int berth_set_ctty(int fd);
int berth_set_winsize(int fd, unsigned short rows, unsigned short cols);
int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols);

/* Signals: unblock everything and restore default dispositions (before exec). */
void berth_reset_signals(void);
int berth_block_signals(void);
int berth_signalfd_all(void);
/* Reads one signal from a signalfd: its number, or -1. */
int berth_signalfd_read(int fd);

/* cgroup v2 device control: load a BPF_PROG_TYPE_CGROUP_DEVICE program (raw instructions, 8
   bytes each) and attach it to the cgroup directory `cgroup_fd`. Returns 0 or -1 with errno; the
   verifier's message lands in `log`. */
int berth_cgroup_device_program_attach(int cgroup_fd, const uint64_t *insns, unsigned int count,
                                       char *log, unsigned int log_size);

/* Extended attributes (no symlink following). */
int berth_lsetxattr(const char *path, const char *name, const void *value, size_t size);
long berth_lgetxattr(const char *path, const char *name, void *value, size_t size);

/* Keyrings: a fresh session keyring per container, as runc does. */
long berth_join_session_keyring(const char *name);

/* CVE-2019-5736: re-exec from a copy of ourselves that a container cannot overwrite.
   First choice: in a private mount namespace, bind /proc/self/exe read-only over itself and exec
   it (no copy). Fallback: a sealed memfd copy. Returns only on failure (-1, errno set).
   Only for a process that is about to leave the host mount namespace anyway (it unshares one). */
int berth_exec_protected_self(char *const argv[], char *const envp[]);
/* Whether our executable is a sealed memfd or lies on a read-only mount. */
int berth_exe_is_protected(void);

/* seccomp: install a compiled classic-BPF program (8 bytes per instruction). */
extern const unsigned int BERTH_SECCOMP_FILTER_FLAG_TSYNC;
extern const unsigned int BERTH_SECCOMP_FILTER_FLAG_LOG;
extern const unsigned int BERTH_SECCOMP_FILTER_FLAG_SPEC_ALLOW;
int berth_seccomp_set_filter(const void *instructions, unsigned int count, unsigned int flags);

/* mount_setattr(2) on `path` (relative to dir_fd), AT_RECURSIVE when `recursive`: the OCI
   spec's recursive mount options (`rro`, `rnosuid`, …). 0, or -1 with errno set. */
int berth_mount_setattr(int dir_fd, const char *path, int recursive, uint64_t attr_set, uint64_t attr_clr);

/* Project quotas (xfs, ext4 with the project feature): a directory's project ID (with
   PROJINHERIT, so what is made under it is counted too), and a project's block limit in bytes,
   set through quotactl_fd on any descriptor of the filesystem. 0, or -1 with errno set. */
int berth_get_project(int dir_fd, unsigned int *project);
int berth_set_project(int dir_fd, unsigned int project);
int berth_set_project_quota(int fs_fd, unsigned int project, unsigned long long bytes);

/* Memory: give freed heap back to the kernel; drop a range's page mappings (clean file pages
   are mapped back from the page cache on the next touch). */
int berth_malloc_trim(void);
int berth_madvise_dontneed(uintptr_t start, size_t length);

#endif
