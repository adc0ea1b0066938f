import BerthEngine

/// What the network routes need of the engine's network service; the routes are tested over
/// a fake of it.
public protocol NetworkBackend: Sendable {
    func list(filters: [String: [String]]) async throws -> [Network]
    func inspect(_ reference: String) async throws -> Network
    func create(_ request: NetworkCreateRequest) async throws -> String
    func remove(_ reference: String) async throws
    /// Removes the user-defined networks no container uses; returns their names.
    func prune(_ filter: PruneFilter) async throws -> [String]
}

extension NetworkService: NetworkBackend {}
