import BerthOCI
import BerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the runtime remembers about a container between commands (`<root>/<id>/state.json`):
/// what `start`, `state`, `kill` and `delete` need. The whole spec the container was created
/// with is kept beside it (`spec.json`), for `exec` and `update`, even if the bundle changes
/// afterwards: decoding a spec is most of what a small command costs, so they skip it.
public struct ContainerRecord: Codable, Sendable {
    public var id: String
    public var bundle: String
    public var rootfs: String
    public var pid: Int32
    /// Start time of `pid` in clock ticks: tells our process apart from a recycled pid.
    public var pidStartTime: UInt64
    public var created: String
    public var owner: String
    public var annotations: [String: String]?
    public var hooks: RuntimeSpec.Hooks?
    public var cgroupPaths: [String: String]
    /// For a container in the runtime's own mount namespace: the mount its rootfs was on before
    /// the runtime bound the rootfs onto itself, so `delete` can take that bind (and every
    /// mount the spec stacked on it) away again, and only that.
    public var hostMountBelowRoot: UInt64?
    /// The systemd unit holding the container's cgroup (`--systemd-cgroup`), stopped by `delete`.
    public var systemdUnit: String?

    public var cgroup: any Cgroup { CgroupFactory.reopen(paths: cgroupPaths) }

    /// Whether the init process is still the one we started and not a zombie.
    public var isAlive: Bool {
        guard pid > 0, let status = Processes.status(pid), status.startTime == pidStartTime else { return false }
        return status.state != "Z" && status.state != "X"
    }

    public func ociState(status: RuntimeState.Status) -> RuntimeState {
        RuntimeState(id: id, status: status, pid: status == .stopped ? 0 : pid, bundle: bundle,
                     annotations: annotations)
    }
}

/// The directory of container records under `--root`; each container is a subdirectory.
public struct StateStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func directory(_ id: String) -> String { root + "/" + id }
    func fifoPath(_ id: String) -> String { directory(id) + "/exec.fifo" }

    /// Container ids become directory names: refuse anything that could escape `root`.
    public static func validate(id: String) throws {
        let allowed = id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2b || c == 0x2d || c == 0x2e
        }
        guard !id.isEmpty, allowed, id != ".", id != ".." , id.utf8.count <= 1024 else { throw RuntimeError.invalidID(id) }
    }

    /// Creates the container's directory, failing if the id is taken.
    func reserve(_ id: String) throws {
        try StateStore.validate(id: id)
        try SmallFile.makeDirectories(root, mode: 0o711)
        if mkdir(directory(id), 0o711) != 0 {
            if errno == EEXIST { throw RuntimeError.containerExists(id) }
            throw RuntimeError.system(SystemError("create \(directory(id))"))
        }
    }

    public func load(_ id: String) throws -> ContainerRecord {
        try read(ContainerRecord.self, id, file: "state.json", what: "state")
    }

    /// The spec the container was created with (or last updated to).
    public func spec(_ id: String) throws -> RuntimeSpec {
        try StateStore.validate(id: id)
        // Containers created by an older runtime kept the spec inside state.json.
        if !SmallFile.exists(directory(id) + "/spec.json"), let legacy = try? read(LegacyRecord.self, id, file: "state.json", what: "state") {
            return legacy.spec
        }
        return try read(RuntimeSpec.self, id, file: "spec.json", what: "spec")
    }

    private struct LegacyRecord: Decodable {
        let spec: RuntimeSpec
    }

    private func read<T: Decodable>(_ type: T.Type, _ id: String, file: String, what: String) throws -> T {
        try StateStore.validate(id: id)
        let path = directory(id) + "/" + file
        guard let bytes = try? SmallFile.readBytes(path) else { throw RuntimeError.containerNotFound(id) }
        do { return try JSONCoding.decoder.decode(type, from: Data(bytes)) } catch {
            throw RuntimeError.setup("container \(id) has a corrupt \(what) file \(path): \(error)")
        }
    }

    /// The spec first: a record (what `list` looks for) always has its spec beside it.
    func save(_ record: ContainerRecord, specJSON: [UInt8]) throws {
        // Runtime state lives as long as the container's processes: no fsync, like runc.
        try SmallFile.writeAtomically(directory(record.id) + "/spec.json", specJSON, durability: .volatile)
        try SmallFile.writeAtomically(directory(record.id) + "/state.json", Array(try JSONCoding.encoder.encode(record)), durability: .volatile)
    }

    /// The container's cgroup, noted as soon as it exists: a create killed before its state
    /// is saved leaves the directory and this, which `delete --force` then cleans up.
    func saveCgroupPaths(_ id: String, _ paths: [String: String]) throws {
        try SmallFile.writeAtomically(directory(id) + "/cgroup.json", Array(try JSONCoding.encoder.encode(paths)), durability: .volatile)
    }

    /// For a create that never finished (a directory without `state.json`): its cgroup, if it got one.
    func interruptedCreate(_ id: String) -> (exists: Bool, cgroupPaths: [String: String]?) {
        guard (try? StateStore.validate(id: id)) != nil, SmallFile.isDirectory(directory(id)),
              !SmallFile.exists(directory(id) + "/state.json") else { return (false, nil) }
        let paths = (try? SmallFile.readBytes(directory(id) + "/cgroup.json")).flatMap {
            try? JSONCoding.decoder.decode([String: String].self, from: Data($0))
        }
        return (true, paths)
    }

    func remove(_ id: String) {
        SmallFile.removeTree(directory(id))
    }

    public func ids() -> [String] {
        SmallFile.list(root).filter { SmallFile.exists(directory($0) + "/state.json") }.sorted()
    }

    /// The live status: the pid, the exec FIFO and the freezer tell it.
    public func status(of record: ContainerRecord) -> RuntimeState.Status {
        guard record.isAlive else { return .stopped }
        if record.cgroup.isFrozen() { return .paused }
        return SmallFile.exists(fifoPath(record.id)) ? .created : .running
    }
}
