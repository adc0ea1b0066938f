import BerthAPITypes
import BerthOCI
import Foundation
import Glibc

/// The host's device nodes a container is given — `--device` (a node, or every node under a
/// directory), `--privileged`'s whole `/dev` — and the block devices that `--device-read-bps`
/// and the like name, as dockerd reads them: by `stat` of the host path, symlinks followed.
/// Resolved at create (to refuse what is not there, creating nothing) and again at each start
/// (a node's numbers may change across a reboot).
struct HostDevices: Sendable {
    /// Nodes for `linux.devices`.
    var nodes: [RuntimeSpec.Device] = []
    /// Rules for the device cgroup (`--device`'s permissions, `--device-cgroup-rule`).
    var rules: [RuntimeSpec.DeviceCgroup] = []
    /// `linux.resources.blockIO` for the `Blkio*Device*` settings; nil when none is set.
    var blockIO: RuntimeSpec.BlockIO?

    /// Everything `host` asks for. `privileged` adds every node of the host's /dev.
    static func resolve(_ host: HostConfig, privileged: Bool) throws -> HostDevices {
        var devices = HostDevices()
        if privileged { devices.nodes = allNodes() }
        for mapping in host.devices ?? [] {
            let found = try nodes(mapping)
            let permissions = mapping.cgroupPermissions.flatMap { $0.isEmpty ? nil : $0 } ?? "rwm"
            for node in found {
                devices.nodes.removeAll { $0.path == node.path }
                devices.nodes.append(node)
                devices.rules.append(.init(allow: true, type: node.type, major: node.major, minor: node.minor, access: permissions))
            }
        }
        devices.rules += try (host.deviceCgroupRules ?? []).map(cgroupRule)
        devices.blockIO = try blockIO(host)
        return devices
    }

    // MARK: --device

    /// `PathOnHost[:PathInContainer[:permissions]]`'s nodes: the one node, or each node under a
    /// directory (kept at its place below `PathInContainer`).
    static func nodes(_ mapping: DeviceMapping) throws -> [RuntimeSpec.Device] {
        let given = mapping.pathOnHost ?? ""
        func failure(_ reason: String) -> EngineError {
            EngineError(.badRequest, "error gathering device information while adding custom device \"\(given)\": \(reason)")
        }
        if let permissions = mapping.cgroupPermissions, !permissions.isEmpty,
           permissions.count > 3 || !permissions.allSatisfy({ "rwm".contains($0) }) {
            throw EngineError(.badRequest, "invalid device mode: \(permissions)")
        }
        guard given.hasPrefix("/") else { throw failure("the host path must be absolute") }
        let inContainer = mapping.pathInContainer.flatMap { $0.isEmpty ? nil : $0 } ?? given
        guard inContainer.hasPrefix("/") else {
            throw EngineError(.badRequest, "invalid device path in container: \(inContainer): it must be absolute")
        }
        let resolved = URL(fileURLWithPath: given).resolvingSymlinksInPath().path
        var info = stat()
        guard stat(resolved, &info) == 0 else { throw failure(String(cString: strerror(errno)).lowercased()) }
        if let node = node(resolved, info, path: inContainer) { return [node] }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw failure("not a device node") }
        // A directory: its nodes, at the same place under the container's path.
        var found: [RuntimeSpec.Device] = []
        let walker = FileManager.default.enumerator(atPath: resolved)
        while let relative = walker?.nextObject() as? String {
            var entry = stat()
            guard lstat(resolved + "/" + relative, &entry) == 0, let node = node(resolved + "/" + relative, entry, path: inContainer + "/" + relative) else { continue }
            found.append(node)
        }
        return found
    }

    /// A character or block node's entry; nil for anything else.
    private static func node(_ hostPath: String, _ info: stat, path: String) -> RuntimeSpec.Device? {
        let type: String
        switch info.st_mode & S_IFMT {
        case S_IFCHR: type = "c"
        case S_IFBLK: type = "b"
        default: return nil
        }
        let (major, minor) = numbers(info.st_rdev)
        return .init(type: type, path: path, major: major, minor: minor, fileMode: UInt32(info.st_mode & 0o7777),
                     uid: info.st_uid, gid: info.st_gid)
    }

    /// glibc's `major()`/`minor()` of a `dev_t`.
    static func numbers(_ device: dev_t) -> (major: Int64, minor: Int64) {
        let value = UInt64(device)
        let major = ((value >> 8) & 0xfff) | ((value >> 32) & ~UInt64(0xfff))
        let minor = (value & 0xff) | ((value >> 12) & ~UInt64(0xff))
        return (Int64(major), Int64(minor))
    }

    /// `--privileged`: every character and block node of the host's /dev, as runc lists them
    /// (not the container's own pts, shm, mqueue, nor the host's console).
    static func allNodes() -> [RuntimeSpec.Device] {
        let skipped: Set<String> = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]
        var found: [RuntimeSpec.Device] = []
        func walk(_ directory: String) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                let path = directory + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR {
                    if !skipped.contains(name) { walk(path) }
                } else if path != "/dev/console", let node = node(path, info, path: path) {
                    found.append(node)
                }
            }
        }
        walk("/dev")
        return found.sorted { $0.path < $1.path }
    }

    // MARK: --device-cgroup-rule

    /// `TYPE MAJOR:MINOR ACCESS` (`c 1:3 mr`, `a *:* rwm`), as the devices cgroup takes it.
    static func cgroupRule(_ text: String) throws -> RuntimeSpec.DeviceCgroup {
        let refusal = EngineError(.badRequest, "invalid device cgroup rule format: '\(text)'")
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 3, ["a", "b", "c"].contains(fields[0]) else { throw refusal }
        let numbers = fields[1].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard numbers.count == 2 else { throw refusal }
        func number(_ text: String) throws -> Int64? {
            if text == "*" { return nil }
            guard let value = Int64(text), value >= 0 else { throw refusal }
            return value
        }
        let access = fields[2]
        guard !access.isEmpty, access.count <= 3, access.allSatisfy({ "rwm".contains($0) }) else { throw refusal }
        return .init(allow: true, type: fields[0], major: try number(numbers[0]), minor: try number(numbers[1]), access: access)
    }

    // MARK: block I/O

    private static func blockIO(_ host: HostConfig) throws -> RuntimeSpec.BlockIO? {
        func throttles(_ entries: [ThrottleDevice]?, _ flag: String) throws -> [RuntimeSpec.ThrottleDevice]? {
            guard let entries, !entries.isEmpty else { return nil }
            return try entries.map { entry in
                guard let rate = entry.rate, rate >= 0 else { throw EngineError(.badRequest, "invalid rate for \(flag) \(entry.path ?? ""): it must be a positive number") }
                let (major, minor) = try blockDevice(entry.path ?? "", flag: flag)
                return .init(major: major, minor: minor, rate: UInt64(rate))
            }
        }
        var blockIO = RuntimeSpec.BlockIO()
        blockIO.throttleReadBpsDevice = try throttles(host.blkioDeviceReadBps, "--device-read-bps")
        blockIO.throttleWriteBpsDevice = try throttles(host.blkioDeviceWriteBps, "--device-write-bps")
        blockIO.throttleReadIOPSDevice = try throttles(host.blkioDeviceReadIOps, "--device-read-iops")
        blockIO.throttleWriteIOPSDevice = try throttles(host.blkioDeviceWriteIOps, "--device-write-iops")
        if let weights = host.blkioWeightDevice, !weights.isEmpty {
            blockIO.weightDevice = try weights.map { entry in
                guard let weight = entry.weight, (10...1000).contains(weight) else {
                    throw EngineError(.badRequest, "invalid weight for device \(entry.path ?? ""): \(entry.weight ?? 0) (range is 10 to 1000)")
                }
                let (major, minor) = try blockDevice(entry.path ?? "", flag: "--blkio-weight-device")
                return .init(major: major, minor: minor, weight: UInt16(weight))
            }
        }
        return blockIO == RuntimeSpec.BlockIO() ? nil : blockIO
    }

    /// A block device's numbers; dockerd's messages for a path that is not one.
    private static func blockDevice(_ path: String, flag: String) throws -> (Int64, Int64) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw EngineError(.badRequest, "\(flag): stat \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        guard info.st_mode & S_IFMT == S_IFBLK else { throw EngineError(.badRequest, "\(flag): \(path) is not a block device") }
        return numbers(info.st_rdev)
    }
}
