import BerthOCI
import Foundation

/// Resolves Docker's `User` (`uid`, `uid:gid`, `name`, `name:group`) against the container's
/// own `/etc/passwd` and `/etc/group`, as the user would be inside the container.
struct UserResolver {
    let rootfs: String

    func resolve(_ user: String, extraGroups: [String]) throws -> RuntimeSpec.User {
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        let passwd = entries("/etc/passwd")
        var uid: UInt32 = 0, gid: UInt32 = 0
        var userName = "root"
        if name.isEmpty {
            uid = 0
        } else if let number = UInt32(name) {
            uid = number
            if let entry = passwd.first(where: { $0.count > 3 && $0[2] == name }) { gid = UInt32(entry[3]) ?? 0; userName = entry[0] }
        } else if let entry = passwd.first(where: { $0.count > 3 && $0[0] == name }), let number = UInt32(entry[2]) {
            uid = number
            gid = UInt32(entry[3]) ?? 0
            userName = name
        } else {
            throw EngineError(.badRequest, "unable to find user \(name): no matching entries in passwd file")
        }
        if parts.count > 1 { gid = try group(parts[1]) }
        var groups = Set(try extraGroups.map(group))
        for entry in entries("/etc/group") where entry.count > 3 {
            if entry[3].split(separator: ",").contains(where: { String($0) == userName }), let number = UInt32(entry[2]) { groups.insert(number) }
        }
        var result = RuntimeSpec.User(uid: uid, gid: gid)
        let additional = groups.subtracting([gid]).sorted()
        if !additional.isEmpty { result.additionalGids = additional }
        return result
    }

    private func group(_ name: String) throws -> UInt32 {
        if let number = UInt32(name) { return number }
        guard let entry = entries("/etc/group").first(where: { $0.count > 2 && $0[0] == name }), let number = UInt32(entry[2]) else {
            throw EngineError(.badRequest, "unable to find group \(name): no matching entries in group file")
        }
        return number
    }

    private func entries(_ path: String) -> [[String]] {
        // Read through the rootfs without following an absolute symlink out of it.
        let full = rootfs + path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: full),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let text = try? String(contentsOfFile: full, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }
}
