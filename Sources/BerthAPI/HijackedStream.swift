import NIOCore
import NIOPosix

/// Splices two channels of one event loop: bytes read on one are written to the other;
/// a half-close or close travels across. Bytes that arrive before the partner exists are kept.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pending: [ByteBuffer] = []
    private var pendingInputClosed = false
    private var pendingInactive = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    /// Docker's detach keys (ctrl-p ctrl-q by default), watched on the client's input: when
    /// typed, the attachment ends and the container keeps running.
    var detachSequence: [UInt8] = []
    /// Run when the detach keys are typed, before either side is closed (tells the shim that
    /// this is a detach, not an end of input).
    var onDetach: (@Sendable () async -> Void)?
    private var matched = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        consume(unwrapInboundIn(data))
    }

    /// Passes input on, watching it for the detach keys once paired (input that arrives before
    /// is kept and watched when replayed: keys typed at once still detach).
    private func consume(_ input: ByteBuffer) {
        guard !detachSequence.isEmpty, partner != nil, let context else { return deliver(input) }
        var buffer = input
        var forward = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        while let byte = buffer.readInteger(as: UInt8.self) {
            if byte == detachSequence[matched] {
                matched += 1
                if matched == detachSequence.count {
                    deliver(forward)
                    detach(context)
                    return
                }
                continue
            }
            // Not the sequence after all: the withheld bytes go through.
            forward.writeBytes(detachSequence[0..<matched])
            matched = 0
            if byte == detachSequence[0] { matched = 1 } else { forward.writeInteger(byte) }
        }
        deliver(forward)
    }

    /// Unpaired first: nothing more goes to the partner, and no close of ours reaches it as an
    /// end of input before the detach is announced; then both sides close.
    private func detach(_ context: ChannelHandlerContext) {
        let detached = partner
        partner = nil
        detached?.flush()
        let client = context.channel, peer = detached?.context?.channel
        let announce = onDetach
        Task {
            await announce?()
            peer?.close(promise: nil)
            client.close(promise: nil)
        }
    }

    private func deliver(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        if let partner { partner.write(buffer) } else { pending.append(buffer) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.flush() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            if let partner { partner.closeOutput() } else { pendingInputClosed = true }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let partner { partner.close() } else { pendingInactive = true }
        context.fireChannelInactive()
    }

    /// Joins two handlers and replays what each received while alone.
    func pair(with other: GlueHandler) {
        partner = other
        other.partner = self
        replay()
        other.replay()
    }

    private func replay() {
        let buffers = pending
        pending = []
        for buffer in buffers where partner != nil { consume(buffer) }
        guard let partner else { return }
        partner.flush()
        if pendingInputClosed { partner.closeOutput() }
        if pendingInactive { partner.close() }
    }

    func write(_ buffer: ByteBuffer) { context?.write(wrapOutboundOut(buffer), promise: nil) }
    func flush() { context?.flush() }
    func closeOutput() { context?.close(mode: .output, promise: nil) }
    func close() { context?.close(promise: nil) }
}

/// A connection after the 101: what attach and exec routes do with it.
public struct HijackedStream: Sendable {
    let channel: Channel
    let glue: NIOLoopBound<GlueHandler>

    /// Connects to a Unix socket (a shim), sends `firstLine`, then splices the two connections.
    public func splice(toUnixSocket path: String, firstLine: String, detachKeys: [UInt8] = [],
                       onDetach: (@Sendable () async -> Void)? = nil) async throws {
        let eventLoop = channel.eventLoop
        let peer = try await ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(unixDomainSocketPath: path).get()
        let serverGlue = glue
        // The line goes out before any byte the client sent meanwhile (replayed by `pair`).
        try await eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let peerGlue = GlueHandler()
            do { try peer.pipeline.syncOperations.addHandler(peerGlue) } catch { return eventLoop.makeFailedFuture(error) }
            var line = peer.allocator.buffer(capacity: firstLine.utf8.count + 1)
            line.writeString(firstLine + "\n")
            let written: EventLoopFuture<Void> = peer.writeAndFlush(line)
            serverGlue.value.detachSequence = detachKeys
            serverGlue.value.onDetach = onDetach
            serverGlue.value.pair(with: peerGlue)
            return written
        }.get()
    }

    /// Writes bytes to the client (an error message before closing, say).
    public func write(_ bytes: [UInt8]) async {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try? await channel.writeAndFlush(buffer)
    }

    public func close() async { try? await channel.close() }
}
