/* Project quotas and mount_setattr, apart from CBerthSystem.c: <linux/fs.h> and glibc's <sys/mount.h> clash. */
#include "CBerthSystem.h"

#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/quota.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int berth_get_project(int dir_fd, unsigned int *project) {
    struct fsxattr attr;
    if (ioctl(dir_fd, FS_IOC_FSGETXATTR, &attr) != 0) return -1;
    *project = attr.fsx_projid;
    return 0;
}

int berth_set_project(int dir_fd, unsigned int project) {
    struct fsxattr attr;
    if (ioctl(dir_fd, FS_IOC_FSGETXATTR, &attr) != 0) return -1;
    attr.fsx_projid = project;
    attr.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    return ioctl(dir_fd, FS_IOC_FSSETXATTR, &attr);
}

#ifndef __NR_quotactl_fd
#define __NR_quotactl_fd 443
#endif

int berth_set_project_quota(int fs_fd, unsigned int project, unsigned long long bytes) {
    struct fs_disk_quota quota;
    memset(&quota, 0, sizeof quota);
    quota.d_version = FS_DQUOT_VERSION;
    quota.d_id = project;
    quota.d_flags = FS_PROJ_QUOTA;
    quota.d_fieldmask = FS_DQ_BHARD | FS_DQ_BSOFT;
    quota.d_blk_hardlimit = bytes / 512;
    quota.d_blk_softlimit = bytes / 512;
    return (int)syscall(__NR_quotactl_fd, fs_fd, QCMD(Q_XSETQLIM, PRJQUOTA), project, &quota);
}

#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

/* struct mount_attr, spelled out: its header clashes with glibc's. */
struct berth_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

int berth_mount_setattr(int dir_fd, const char *path, int recursive, uint64_t attr_set, uint64_t attr_clr) {
    struct berth_mount_attr attr = { attr_set, attr_clr, 0, 0 };
    /* AT_EMPTY_PATH 0x1000, AT_RECURSIVE 0x8000 */
    unsigned int flags = (path[0] == 0 ? 0x1000 : 0) | (recursive ? 0x8000 : 0);
    return (int)syscall(__NR_mount_setattr, dir_fd, path, flags, &attr, sizeof attr);
}
