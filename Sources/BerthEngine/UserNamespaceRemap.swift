import BerthArchive
import BerthOCI
import BerthSystem
import Foundation

/// daemon.json `userns-remap` (`--userns-remap`), as dockerd reads it: `default` (the user
/// `dockremap`, made with subordinate ranges in /etc/subuid and /etc/subgid when missing),
/// `USER`, `USER:GROUP`, `UID` or `UID:GID`. Containers' root is the first id of the user's
/// subordinate ranges; the daemon keeps a store of its own for the remap under
/// `DATA/UID.GID` (images unpacked with shifted owners, containers, volumes), as dockerd does.
public struct UserNamespaceRemap: Sendable, Equatable {
    public var user: String
    public var group: String
    public var shift: OwnerShift

    /// What a user's subordinate ranges are read from (tests give their own files).
    public struct Files: Sendable {
        public var passwd = "/etc/passwd"
        public var group = "/etc/group"
        public var subuid = "/etc/subuid"
        public var subgid = "/etc/subgid"
        public init() {}
    }

    /// The name `default` stands for.
    public static let defaultUser = "dockremap"

    public static func resolve(_ setting: String, files: Files = Files(), createDefault: Bool = true) throws -> UserNamespaceRemap {
        let parts = setting.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, !first.isEmpty else { throw failure("userns-remap must name a user: default, USER[:GROUP] or UID[:GID]") }
        var user = first
        var group = parts.count > 1 ? parts[1] : nil
        if user == "default" {
            user = defaultUser
            group = defaultUser
            if createDefault { try createDefaultUser(files) }
        }
        let passwd = try table(files.passwd)
        guard let account = passwd.first(where: { $0[0] == user || $0[2] == user }) else {
            throw failure("userns-remap: no such user \(user) in \(files.passwd)")
        }
        let userName = account[0]
        let groupName: String
        if let group {
            guard let entry = try table(files.group).first(where: { $0[0] == group || $0[2] == group }) else {
                throw failure("userns-remap: no such group \(group) in \(files.group)")
            }
            groupName = entry[0]
        } else {
            groupName = userName
        }
        guard let uids = try ranges(files.subuid, names: [userName, account[2]]).first else {
            throw failure("userns-remap: no subordinate uid range for \(userName) in \(files.subuid)")
        }
        let groupID = try table(files.group).first { $0[0] == groupName }?[2] ?? ""
        guard let gids = try ranges(files.subgid, names: [groupName, groupID, userName]).first else {
            throw failure("userns-remap: no subordinate gid range for \(groupName) in \(files.subgid)")
        }
        return UserNamespaceRemap(user: userName, group: groupName,
                                  shift: OwnerShift(uid: uids.start, gid: gids.start, uidSize: uids.size, gidSize: gids.size))
    }

    /// `DATA/UID.GID`: the remapped store.
    public func dataRoot(under root: String) -> String { "\(root)/\(shift.uid).\(shift.gid)" }

    /// Prepares the remapped store: the daemon's root open to traversal (the containers' root
    /// users reach their files through it), the store the remapped root's own, as dockerd.
    public func prepare(root: String) throws {
        try FileManager.default.createDirectory(atPath: dataRoot(under: root), withIntermediateDirectories: true)
        chmod(root, 0o711)
        // Every directory above must let the remapped root through, or no container could
        // reach its root filesystem: refused at start, with dockerd's advice.
        var ancestor = URL(fileURLWithPath: root).resolvingSymlinksInPath().deletingLastPathComponent().path
        while ancestor != "/" && !ancestor.isEmpty {
            var info = stat()
            if stat(ancestor, &info) == 0, info.st_mode & 0o001 == 0, info.st_uid != shift.uid {
                throw Self.failure("a directory above the data root (\(ancestor)) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on it")
            }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
        guard chown(dataRoot(under: root), shift.uid, shift.gid) == 0, chmod(dataRoot(under: root), 0o711) == 0 else {
            throw Self.failure("userns-remap: cannot give \(dataRoot(under: root)) to \(shift.uid):\(shift.gid): \(String(cString: strerror(errno)))")
        }
    }

    var uidMappings: [RuntimeSpec.IDMapping] { [.init(containerID: 0, hostID: shift.uid, size: shift.uidSize)] }
    var gidMappings: [RuntimeSpec.IDMapping] { [.init(containerID: 0, hostID: shift.gid, size: shift.gidSize)] }

    // MARK: Files

    private static func failure(_ message: String) -> EngineError { EngineError(.badRequest, message) }

    /// The colon-separated lines of a passwd-like file.
    private static func table(_ path: String) throws -> [[String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
            .filter { $0.count >= 3 && !$0[0].hasPrefix("#") }
    }

    /// `name:start:count` lines of the first of `names` that has any, in the file's order.
    static func ranges(_ path: String, names: [String]) throws -> [(start: UInt32, size: UInt32)] {
        let lines = try table(path)
        for name in names where !name.isEmpty {
            let found = lines.compactMap { fields -> (start: UInt32, size: UInt32)? in
                guard fields[0] == name, let start = UInt32(fields[1]), let size = UInt32(fields[2]), size > 0 else { return nil }
                return (start, size)
            }
            if !found.isEmpty { return found }
        }
        return []
    }

    /// dockerd's `default`: the system user and group `dockremap`, and 65,536 ids for each past
    /// every range the files already give (from 100000).
    static func createDefaultUser(_ files: Files) throws {
        if try !table(files.passwd).contains(where: { $0[0] == defaultUser }) {
            let made = Subprocess.runBlocking(["/usr/sbin/useradd", "--system", "--user-group", "--shell", "/bin/false", "--no-create-home", defaultUser])
            guard made.status == 0 else { throw failure("userns-remap: cannot create the user \(defaultUser): \(made.output)") }
        }
        for path in [files.subuid, files.subgid] where try ranges(path, names: [defaultUser]).isEmpty {
            let taken = try table(path).compactMap { fields -> UInt64? in
                guard let start = UInt64(fields[1]), let size = UInt64(fields[2]) else { return nil }
                return start + size
            }
            let start = max(100_000, taken.max() ?? 0)
            let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let line = "\(defaultUser):\(start):65536\n"
            try SmallFile.writeAtomically(path, Array(((existing.isEmpty || existing.hasSuffix("\n") ? existing : existing + "\n") + line).utf8))
        }
    }
}
