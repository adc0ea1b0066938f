import BerthSystem
import CBerthSystem
import Glibc

/// The local driver's `size`, as dockerd's: a project quota on the volume's `_data` — a project
/// ID of its own (inherited by what is made under it), past every ID the other volumes have, and
/// that project's block limit. It needs a filesystem with project quotas enabled under the
/// volumes (xfs mounted `pquota`, ext4 made with `-O quota,project` and mounted `prjquota`);
/// elsewhere it is refused with dockerd's words.
enum ProjectQuota {
    static let unsupported = VolumeOptionError("quota size requested but no quota support")

    static func apply(bytes: Int64, to directory: String, volumesRoot root: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw VolumeOptionError("open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var highest: UInt32 = 0
        guard berth_get_project(fd, &highest) == 0 else { throw unsupported }
        for entry in SmallFile.list(root) {
            let other = open(root + "/" + entry + "/_data", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard other >= 0 else { continue }
            var project: UInt32 = 0
            if berth_get_project(other, &project) == 0 { highest = max(highest, project) }
            close(other)
        }
        let project = highest + 1
        guard berth_set_project(fd, project) == 0, berth_set_project_quota(fd, project, UInt64(bytes)) == 0 else { throw unsupported }
    }
}
