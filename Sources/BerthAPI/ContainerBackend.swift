import BerthEngine
import BerthOCI

/// What the container and exec routes need of the engine, and nothing else: the routes are
/// tested over a fake of it (`Tests/BerthAPITests`).
public protocol ContainerBackend: Sendable {
    func list(all: Bool, limit: Int?, size: Bool, filters: [String: [String]]) async throws -> [ContainerSummary]
    func create(name: String?, body: JSONValue) async throws -> (id: String, warnings: [String])
    func remove(_ reference: String, force: Bool, volumes: Bool) async throws
    func inspect(_ reference: String, size: Bool) async throws -> ContainerInspectResponse
    func start(_ reference: String) async throws
    func stop(_ reference: String, timeout: Int?, signal: String?) async throws
    func restart(_ reference: String, timeout: Int?, signal: String?) async throws
    func kill(_ reference: String, signal: String?) async throws
    func pause(_ reference: String, _ paused: Bool) async throws
    func rename(_ reference: String, to newName: String) async throws
    /// `POST /networks/{id}/connect` and `disconnect`: a container's networks are the engine's to change.
    func connect(network: String, container: String, settings: EndpointSettings?) async throws
    func disconnect(network: String, container: String, force: Bool) async throws
    func wait(_ reference: String, condition: String) async throws -> Int32
    /// Whether the container has a terminal (its streams are raw, not multiplexed); throws for
    /// a container that does not exist.
    func usesTerminal(_ reference: String) async throws -> Bool
    func resize(_ reference: String, height: Int, width: Int) async throws
    func top(_ reference: String, psArguments: String) async throws -> ContainerTopResponse
    func logs(_ reference: String, options: LogOptions) async throws -> (tty: Bool, frames: AsyncStream<[UInt8]>)
    func reserveAttach(_ reference: String) async throws -> AsyncThrowingStream<AttachTicket, Error>
    func detachAttachment(socketPath: String, token: String) async
    func archive(_ reference: String, path: String, content: Bool) async throws -> (stat: JSONValue, tar: AsyncThrowingStream<[UInt8], any Error>?)
    /// `copyOwners`: the archive's owners (`docker cp -a`), else the container's root;
    /// `keepKinds`: dockerd's `noOverwriteDirNonDir`.
    func extractArchive(_ reference: String, path: String, tar: RequestBody, copyOwners: Bool, keepKinds: Bool) async throws
    func stats(_ reference: String) async throws -> JSONValue
    func isRunning(_ id: String) async -> Bool
    func export(_ reference: String) async throws -> AsyncThrowingStream<[UInt8], any Error>
    func changes(_ reference: String) async throws -> JSONValue
    func update(_ reference: String, body: JSONValue) async throws -> [String]
    func commit(_ reference: String, _ request: ContainerEngine.CommitRequest) async throws -> Digest
    func createExec(_ reference: String, body: JSONValue) async throws -> String
    func inspectExec(_ id: String) async throws -> JSONValue
    func resizeExec(_ id: String, height: Int, width: Int) async throws
    /// Spawns the exec's shim and says how to attach to it.
    func prepareExecAttachment(_ id: String) async throws -> ExecAttachment
    func startExec(_ id: String, detached: Bool) async throws
}

/// How an exec's stream is attached: its shim's socket, whether stdin goes to it, its detach keys.
public struct ExecAttachment: Sendable {
    public var socketPath: String
    public var stdin: Bool
    public var detachKeys: String?

    public init(socketPath: String, stdin: Bool, detachKeys: String?) {
        self.socketPath = socketPath
        self.stdin = stdin
        self.detachKeys = detachKeys
    }
}

extension ContainerEngine: ContainerBackend {
    public func usesTerminal(_ reference: String) async throws -> Bool { try record(reference).tty }

    public func extractArchive(_ reference: String, path: String, tar: RequestBody, copyOwners: Bool, keepKinds: Bool) async throws {
        try await extract(reference, path: path, tar: tar, copyOwners: copyOwners, keepKinds: keepKinds)
    }

    public func prepareExecAttachment(_ id: String) async throws -> ExecAttachment {
        let config = try exec(id).config
        let socket = try await prepareExec(id)
        return ExecAttachment(socketPath: socket, stdin: config["AttachStdin"]?.bool ?? false,
                              detachKeys: config["DetachKeys"]?.string.flatMap { $0.isEmpty ? nil : $0 })
    }
}
