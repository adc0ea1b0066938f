import BerthEngine

/// What the volume routes need of the engine (volumes are tied to the containers that have
/// them); the routes are tested over a fake of it.
public protocol VolumeBackend: Sendable {
    func createVolume(name: String?, driver: String?, options: [String: String], labels: [String: String]) async throws -> JSONValue
    func listVolumes(filters: [String: [String]]) async throws -> JSONValue
    func inspectVolume(_ name: String) async throws -> JSONValue
    func removeVolume(_ name: String, force: Bool) async throws
    func pruneVolumes(filters: [String: [String]]) async throws -> JSONValue
    /// Every volume with its `UsageData` (`system df`).
    func volumeUsage() async throws -> [JSONValue]
}

extension ContainerEngine: VolumeBackend {}
