import BerthSystem

/// A mount's `options` list split into mount(2) flags, propagation changes and filesystem data.
struct MountOptions: Equatable {
    var flags: MountFlags = []
    var cleared: MountFlags = []
    var propagation: [MountFlags] = []
    var data: [String] = []
    var isBind = false
    var isRecursive = false
    /// The runtime spec's recursive options (`rro`, `rnosuid`, …): MOUNT_ATTR_* bits set and
    /// cleared on the mount and every mount below it (mount_setattr with AT_RECURSIVE).
    var recursiveSet: UInt64 = 0
    var recursiveClear: UInt64 = 0

    init(_ options: [String]) {
        for option in options {
            if let (flag, clear) = Self.flagTable[option] {
                if clear { flags.remove(flag); cleared.insert(flag) } else { flags.insert(flag); cleared.remove(flag) }
            } else if let (set, clear) = Self.recursiveTable[option] {
                recursiveSet = recursiveSet & ~clear | set
                recursiveClear = recursiveClear & ~set | clear
            } else if let prop = Self.propagationTable[option] {
                propagation.append(prop)
            } else if option == "bind" {
                isBind = true
            } else if option == "rbind" {
                isBind = true
                isRecursive = true
            } else if option == "tmpcopyup" || option.hasPrefix("x-") {
                continue  // runc extensions and userspace-only options: nothing for the kernel.
            } else {
                data.append(option)
            }
        }
    }

    var dataString: String? { data.isEmpty ? nil : data.joined(separator: ",") }

    static let flagTable: [String: (MountFlags, Bool)] = [
        "ro": (.readOnly, false), "rw": (.readOnly, true),
        "nosuid": (.noSUID, false), "suid": (.noSUID, true),
        "nodev": (.noDev, false), "dev": (.noDev, true),
        "noexec": (.noExec, false), "exec": (.noExec, true),
        "sync": (.synchronous, false), "async": (.synchronous, true),
        "dirsync": (.dirSync, false), "remount": (.remount, false),
        "mand": (.mandatoryLock, false), "nomand": (.mandatoryLock, true),
        "noatime": (.noAtime, false), "atime": (.noAtime, true),
        "nodiratime": (.noDirAtime, false), "diratime": (.noDirAtime, true),
        "relatime": (.relAtime, false), "norelatime": (.relAtime, true),
        "strictatime": (.strictAtime, false), "nostrictatime": (.strictAtime, true),
        "silent": (.silent, false), "loud": (.silent, true),
        "nosymfollow": (.noSymFollow, false), "symfollow": (.noSymFollow, true),
        "lazytime": (.lazyTime, false), "nolazytime": (.lazyTime, true),
    ]

    /// MOUNT_ATTR_* of linux/mount.h: RDONLY 0x1, NOSUID 0x2, NODEV 0x4, NOEXEC 0x8, the atime
    /// field 0x70 (RELATIME 0, NOATIME 0x10, STRICTATIME 0x20), NODIRATIME 0x80, NOSYMFOLLOW 0x200000.
    static let recursiveTable: [String: (set: UInt64, clear: UInt64)] = [
        "rro": (0x1, 0), "rrw": (0, 0x1), "rnosuid": (0x2, 0), "rsuid": (0, 0x2), "rnodev": (0x4, 0), "rdev": (0, 0x4),
        "rnoexec": (0x8, 0), "rexec": (0, 0x8), "rnodiratime": (0x80, 0), "rdiratime": (0, 0x80),
        "rnosymfollow": (0x200000, 0), "rsymfollow": (0, 0x200000),
        // The atime field is replaced as a whole: its bits are cleared, the mode's set.
        "rrelatime": (0, 0x70), "rnorelatime": (0, 0x70), "ratime": (0, 0x70), "rnoatime": (0x10, 0x70),
        "rstrictatime": (0x20, 0x70), "rnostrictatime": (0, 0x70),
    ]

    static let propagationTable: [String: MountFlags] = [
        "private": .private, "rprivate": [.private, .recursive],
        "shared": .shared, "rshared": [.shared, .recursive],
        "slave": .slave, "rslave": [.slave, .recursive],
        "unbindable": .unbindable, "runbindable": [.unbindable, .recursive],
    ]
}
