@testable import BerthAPI
import BerthEngine
import BerthImages
import BerthOCI
import Synchronization

/// The calls a fake backend was asked to make, with their arguments as the tests compare them,
/// and the error every call answers with, if the test set one.
final class CallLog: Sendable {
    private let calls = Mutex<[String]>([])
    let failure: (any Error)?

    init(failing failure: (any Error)? = nil) { self.failure = failure }

    /// Records `call`; throws the test's error, if any.
    func called(_ call: String) throws {
        calls.withLock { $0.append(call) }
        if let failure { throw failure }
    }

    var all: [String] { calls.withLock { $0 } }
}

/// A backend method the test does not expect to be called.
struct Unexpected: Error, CustomStringConvertible {
    let call: String
    var description: String { "unexpected call: \(call)" }
}

/// The container backend the container routes are tested over: each method records its call
/// and answers what the test set, or the error it set.
final class FakeContainers: ContainerBackend {
    let log: CallLog

    init(failing failure: (any Error)? = nil) { log = CallLog(failing: failure) }

    private func called(_ call: String) throws { try log.called(call) }

    func list(all: Bool, limit: Int?, size: Bool, filters: [String: [String]]) async throws -> [ContainerSummary] {
        try called("list all=\(all) limit=\(limit.map(String.init) ?? "-") size=\(size) filters=\(filters)")
        return []
    }
    func create(name: String?, body: JSONValue) async throws -> (id: String, warnings: [String]) {
        try called("create \(name ?? "-") image=\(body["Image"]?.string ?? "-")")
        return ("c0ffee", [])
    }
    func remove(_ reference: String, force: Bool, volumes: Bool) async throws { try called("remove \(reference) force=\(force)" + (volumes ? " volumes" : "")) }
    func inspect(_ reference: String, size: Bool) async throws -> ContainerInspectResponse {
        try called("inspect \(reference)")
        var inspect = ContainerInspectResponse()
        inspect.id = reference
        return inspect
    }
    func start(_ reference: String) async throws { try called("start \(reference)") }
    func stop(_ reference: String, timeout: Int?, signal: String?) async throws {
        try called("stop \(reference) t=\(timeout.map(String.init) ?? "-") signal=\(signal ?? "-")")
    }
    func restart(_ reference: String, timeout: Int?, signal: String?) async throws { try called("restart \(reference)") }
    func kill(_ reference: String, signal: String?) async throws { try called("kill \(reference) \(signal ?? "-")") }
    func pause(_ reference: String, _ paused: Bool) async throws { try called("pause \(reference) \(paused)") }
    func rename(_ reference: String, to newName: String) async throws { try called("rename \(reference) \(newName)") }
    func connect(network: String, container: String, settings: EndpointSettings?) async throws {
        try called("connect \(network) \(container) aliases=\(settings?.aliases ?? [])")
    }
    func disconnect(network: String, container: String, force: Bool) async throws { try called("disconnect \(network) \(container) force=\(force)") }
    func wait(_ reference: String, condition: String) async throws -> Int32 {
        try called("wait \(reference) \(condition)")
        return 3
    }
    func usesTerminal(_ reference: String) async throws -> Bool {
        try called("tty \(reference)")
        return false
    }
    func resize(_ reference: String, height: Int, width: Int) async throws { try called("resize \(reference) \(height)x\(width)") }
    func top(_ reference: String, psArguments: String) async throws -> ContainerTopResponse { throw Unexpected(call: "top") }
    func logs(_ reference: String, options: LogOptions) async throws -> (tty: Bool, frames: AsyncStream<[UInt8]>) {
        try called("logs \(reference) tail=\(options.tail.map(String.init) ?? "all")")
        return (false, AsyncStream { $0.finish() })
    }
    func reserveAttach(_ reference: String) async throws -> AsyncThrowingStream<AttachTicket, Error> { throw Unexpected(call: "attach") }
    func detachAttachment(socketPath: String, token: String) async {}
    func archive(_ reference: String, path: String, content: Bool) async throws -> (stat: JSONValue, tar: AsyncThrowingStream<[UInt8], any Error>?) {
        throw Unexpected(call: "archive")
    }
    func extractArchive(_ reference: String, path: String, tar: RequestBody, copyOwners: Bool, keepKinds: Bool) async throws {
        var bytes = 0
        for try await chunk in tar { bytes += chunk.count }
        try called("extract \(reference) \(path) \(bytes) bytes")
    }
    func stats(_ reference: String) async throws -> JSONValue { throw Unexpected(call: "stats") }
    func isRunning(_ id: String) async -> Bool { false }
    func export(_ reference: String) async throws -> AsyncThrowingStream<[UInt8], any Error> { throw Unexpected(call: "export") }
    func changes(_ reference: String) async throws -> JSONValue { throw Unexpected(call: "changes") }
    func update(_ reference: String, body: JSONValue) async throws -> [String] { throw Unexpected(call: "update") }
    func commit(_ reference: String, _ request: ContainerEngine.CommitRequest) async throws -> Digest { throw Unexpected(call: "commit") }
    func createExec(_ reference: String, body: JSONValue) async throws -> String { throw Unexpected(call: "createExec") }
    func inspectExec(_ id: String) async throws -> JSONValue { throw Unexpected(call: "inspectExec") }
    func resizeExec(_ id: String, height: Int, width: Int) async throws { throw Unexpected(call: "resizeExec") }
    func prepareExecAttachment(_ id: String) async throws -> ExecAttachment { throw Unexpected(call: "prepareExec") }
    func startExec(_ id: String, detached: Bool) async throws { try called("startExec \(id) detached=\(detached)") }
}

/// The image backend the image routes are tested over.
final class FakeImages: ImageBackend {
    let log: CallLog

    init(failing failure: (any Error)? = nil) { log = CallLog(failing: failure) }

    private func called(_ call: String) throws { try log.called(call) }

    func list(filters: [String: [String]]) async throws -> [ImageService.Listing] { try called("list"); return [] }
    func inspect(_ name: String) async throws -> (record: ImageRecord, config: ImageConfig) {
        try called("inspect \(name)")
        throw Unexpected(call: "inspect")
    }
    func history(_ name: String) async throws -> [ImageHistoryEntry] { throw Unexpected(call: "history") }
    func pull(_ reference: ImageReference, auth: String?, progress: @escaping @Sendable (ProgressMessage) -> Void) async throws {
        try called("pull \(reference.description)")
        progress(ProgressMessage(status: "pulled"))
    }
    func push(_ reference: ImageReference, auth: String?, progress: @escaping @Sendable (ProgressMessage) -> Void) async throws {
        throw Unexpected(call: "push")
    }
    func login(user: String, password: String, server: String) async throws { try called("login \(user) \(server)") }
    func tag(_ name: String, repository: String?, tag: String?) async throws { try called("tag \(name) \(repository ?? "-") \(tag ?? "-")") }
    func remove(_ name: String, force: Bool) async throws -> [ImageStore.ImageRemoval] {
        try called("remove \(name) force=\(force)")
        return [.untagged(name), .deleted(try Digest(parsing: "sha256:" + String(repeating: "a", count: 64)))]
    }
    func prune(_ filter: PruneFilter) async throws -> [(image: ImageStore.Pruned, names: [String])] { try called("prune"); return [] }
    func loadArchive(_ body: RequestBody, layerLoaded: @escaping @Sendable (Digest, Int64) -> Void) async throws -> [ImageService.Loaded] {
        var bytes = 0
        for try await chunk in body { bytes += chunk.count }
        try called("load \(bytes) bytes")
        return [ImageService.Loaded(id: try Digest(parsing: "sha256:" + String(repeating: "b", count: 64)), names: ["web:1"])]
    }
    func importArchive(_ body: RequestBody, reference: String?, changes: [String], message: String?) async throws -> Digest {
        throw Unexpected(call: "import")
    }
    func save(_ names: [String]) async throws -> AsyncThrowingStream<[UInt8], any Error> { throw Unexpected(call: "save") }
    func all() async throws -> [ImageRecord] { [] }
    var storageDriver: String { "overlay2" }
}

/// The network backend the network routes are tested over.
final class FakeNetworks: NetworkBackend {
    let log: CallLog

    init(failing failure: (any Error)? = nil) { log = CallLog(failing: failure) }

    private func called(_ call: String) throws { try log.called(call) }

    func list(filters: [String: [String]]) async throws -> [Network] {
        try called("list \(filters)")
        var network = Network()
        network.name = "bridge"
        return [network]
    }
    func inspect(_ reference: String) async throws -> Network {
        try called("inspect \(reference)")
        var network = Network()
        network.name = reference
        return network
    }
    func create(_ request: NetworkCreateRequest) async throws -> String {
        try called("create \(request.name ?? "-") subnet=\(request.ipam?.config?.first?.subnet ?? "-")")
        return "feed"
    }
    func remove(_ reference: String) async throws { try called("remove \(reference)") }
    func prune(_ filter: PruneFilter) async throws -> [String] { try called("prune"); return ["old"] }
}

/// The volume backend the volume routes are tested over.
final class FakeVolumes: VolumeBackend {
    let log: CallLog

    init(failing failure: (any Error)? = nil) { log = CallLog(failing: failure) }

    func createVolume(name: String?, driver: String?, options: [String: String], labels: [String: String]) async throws -> JSONValue {
        try log.called("create \(name ?? "-") labels=\(labels.sorted { $0.key < $1.key })")
        return .object(["Name": .string(name ?? "random")])
    }
    func listVolumes(filters: [String: [String]]) async throws -> JSONValue {
        try log.called("list \(filters)")
        return .object(["Volumes": .array([]), "Warnings": .array([])])
    }
    func inspectVolume(_ name: String) async throws -> JSONValue {
        try log.called("inspect \(name)")
        return .object(["Name": .string(name)])
    }
    func removeVolume(_ name: String, force: Bool) async throws { try log.called("remove \(name) force=\(force)") }
    func pruneVolumes(filters: [String: [String]]) async throws -> JSONValue {
        try log.called("prune")
        return .object(["VolumesDeleted": .null, "SpaceReclaimed": .int(0)])
    }
    func volumeUsage() async throws -> [JSONValue] { [] }
}
