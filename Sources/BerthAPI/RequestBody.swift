import NIOCore

/// A request body that arrives while its route runs (`docker load`, `docker import`, an upload to
/// a container): the chunks as the client sends them. The connection stops reading while the
/// route has a few chunks it has not consumed yet, so an upload is never held in memory whole.
public struct RequestBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    typealias Producer = NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error,
                                                          NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ReadControl>

    let chunks: Producer

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        public mutating func next() async throws -> [UInt8]? {
            guard let buffer = try await base.next() else { return nil }
            return Array(buffer.readableBytesView)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: chunks.makeAsyncIterator()) }

    /// A body and the source the connection feeds it from. Reads pause above `highWatermark`
    /// unconsumed chunks and resume (through `control`) below `lowWatermark`.
    static func make(control: ReadControl) -> (RequestBody, Producer.Source) {
        let made = Producer.makeSequence(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8),
                                         finishOnDeinit: false, delegate: control)
        return (RequestBody(chunks: made.sequence), made.source)
    }

    /// A body already read whole (a request built in a test, or by another transport).
    static func whole(_ bytes: [UInt8]) -> RequestBody {
        let (body, source) = make(control: .init(resume: {}, abandoned: {}))
        if !bytes.isEmpty { _ = source.yield(ByteBuffer(bytes: bytes)) }
        source.finish()
        return body
    }

    /// What the connection is told by the consumer: read on, or the route stopped reading.
    struct ReadControl: NIOAsyncSequenceProducerDelegate {
        let resume: @Sendable () -> Void
        let abandoned: @Sendable () -> Void

        func produceMore() { resume() }
        func didTerminate() { abandoned() }
    }
}

/// The client closed the connection (or stalled) before it sent the whole body.
struct TruncatedBody: Error, CustomStringConvertible {
    var description: String { "the request body ended before it was complete" }
}
