import Foundation

/// One Engine API event (`/events`), in Docker's shape.
public struct EngineEvent: Sendable {
    public var type: String
    public var action: String
    public var actorID: String
    public var attributes: [String: String]
    public var timeNano: Int64

    /// The API's event message.
    public var message: EventMessage {
        var message = EventMessage()
        message.type = type
        message.action = action
        message.scope = "local"
        var actor = EventActor()
        actor.id = actorID
        actor.attributes = attributes
        message.actor = actor
        message.time = timeNano / 1_000_000_000
        message.timeNano = timeNano
        // The legacy fields older clients read (outside the spec, so kept as unknown fields).
        if type == "container" || type == "image" {
            message.unknownFields["status"] = .string(action)
            message.unknownFields["id"] = .string(actorID)
            if let image = attributes["image"] { message.unknownFields["from"] = .string(image) }
        }
        return message
    }
}

/// Fans events out to `/events` subscribers and keeps the recent ones for `since`.
public actor EventBus {
    private var subscribers: [UUID: AsyncStream<EngineEvent>.Continuation] = [:]
    private var recent: [EngineEvent] = []
    private let keep = 1024

    public init() {}

    public func publish(_ type: String, _ action: String, id: String, attributes: [String: String] = [:]) {
        let now = Date().timeIntervalSince1970
        let event = EngineEvent(type: type, action: action, actorID: id, attributes: attributes, timeNano: Int64(now * 1e9))
        recent.append(event)
        if recent.count > keep { recent.removeFirst(recent.count - keep) }
        for continuation in subscribers.values { continuation.yield(event) }
    }

    /// Past events at or after `since` (seconds), and a stream of the live ones, until it is dropped.
    /// Both come from one actor turn, so no event is missed or repeated between them.
    public func subscribe(since: Double?) -> (past: [EngineEvent], live: AsyncStream<EngineEvent>) {
        let (stream, continuation) = AsyncStream<EngineEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let past = since.map { since in recent.filter { Double($0.timeNano) / 1e9 >= since } } ?? []
        let id = UUID()
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return (past, stream)
    }

    private func unsubscribe(_ id: UUID) { subscribers[id] = nil }
}
