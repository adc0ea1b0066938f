import BerthSystem

/// A mount's `options` list split into mount(2) flags, propagation changes and filesystem data.
struct MountOptions: Equatable {
    var flags: MountFlags = []
    var cleared: MountFlags = []
    var propagation: [MountFlags] = []
    var data: [String] = []
    var isBind = false
    var isRecursive = false

    init(_ options: [String]) {
        for option in options {
            if let (flag, clear) = Self.flagTable[option] {
                if clear { flags.remove(flag); cleared.insert(flag) } else { flags.insert(flag); cleared.remove(flag) }
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

    static let propagationTable: [String: MountFlags] = [
        "private": .private, "rprivate": [.private, .recursive],
        "shared": .shared, "rshared": [.shared, .recursive],
        "slave": .slave, "rslave": [.slave, .recursive],
        "unbindable": .unbindable, "runbindable": [.unbindable, .recursive],
    ]
}
