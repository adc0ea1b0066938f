import BerthEngine
import BerthImages
import BerthOCI

/// What the image routes (and the image counts of `/info` and `/system/df`) need of the
/// engine's image service: the routes are tested over a fake of it (`Tests/BerthAPITests`).
public protocol ImageBackend: Sendable {
    func list(filters: [String: [String]]) async throws -> [ImageService.Listing]
    func inspect(_ name: String) async throws -> (record: ImageRecord, config: ImageConfig)
    func history(_ name: String) async throws -> [ImageHistoryEntry]
    func pull(_ reference: ImageReference, auth: String?, progress: @escaping @Sendable (ProgressMessage) -> Void) async throws
    func push(_ reference: ImageReference, auth: String?, progress: @escaping @Sendable (ProgressMessage) -> Void) async throws
    func login(user: String, password: String, server: String) async throws
    func tag(_ name: String, repository: String?, tag: String?) async throws
    func remove(_ name: String, force: Bool) async throws -> [ImageStore.ImageRemoval]
    func prune(_ filter: PruneFilter) async throws -> [(image: ImageStore.Pruned, names: [String])]
    func loadArchive(_ body: RequestBody, layerLoaded: @escaping @Sendable (Digest, Int64) -> Void) async throws -> [ImageService.Loaded]
    func importArchive(_ body: RequestBody, reference: String?, changes: [String], message: String?) async throws -> Digest
    func save(_ names: [String]) async throws -> AsyncThrowingStream<[UInt8], any Error>
    /// Every image, for the counts and sizes of `/info` and `/system/df`.
    func all() async throws -> [ImageRecord]
    /// `overlay2` or `vfs`, as `/info` names the storage driver.
    var storageDriver: String { get }
}

extension ImageService: ImageBackend {
    public func loadArchive(_ body: RequestBody, layerLoaded: @escaping @Sendable (Digest, Int64) -> Void) async throws -> [ImageService.Loaded] {
        try await load(body, layerLoaded: layerLoaded)
    }

    public func importArchive(_ body: RequestBody, reference: String?, changes: [String], message: String?) async throws -> Digest {
        try await importRootfs(body, reference: reference, changes: changes, message: message)
    }

    public func all() throws -> [ImageRecord] { try store.list() }

    public var storageDriver: String { store.snapshots.driver == .overlay ? "overlay2" : "vfs" }
}
