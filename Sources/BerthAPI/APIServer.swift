import BerthEngine
import Foundation
import NIOCore
import Synchronization
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The Engine API over HTTP/1.1 on Unix sockets (and TCP), on SwiftNIO.
public final class APIServer: Sendable {
    private let router: Router
    private let group: MultiThreadedEventLoopGroup
    /// Requests received so far: the daemon gives memory back after a quiet spell.
    public let activity = RequestActivity()

    public init(router: Router, threads: Int = 2) {
        self.router = router
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    /// Listens on `unix:///path` or `tcp://host:port` (TLS on TCP when `tls` is given); returns the bound channel.
    public func listen(_ address: String, socketMode: mode_t = 0o660, socketGroup: gid_t? = nil,
                       tls: NIOSSLContext? = nil) async throws -> Channel {
        let router = self.router
        let activity = self.activity
        let isTCP = !address.hasPrefix("unix://")
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if isTCP, let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    let encoder = HTTPResponseEncoder()
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    try channel.pipeline.syncOperations.addHandler(encoder)
                    try channel.pipeline.syncOperations.addHandler(decoder)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(router: router, activity: activity, encoder: encoder, decoder: decoder))
                }
            }
        if address.hasPrefix("unix://") {
            let path = String(address.dropFirst(7))
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            unlink(path)
            let channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
            chmod(path, socketMode)
            if let socketGroup { chown(path, 0, socketGroup) }
            return channel
        }
        let rest = address.hasPrefix("tcp://") ? String(address.dropFirst(6)) : address
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else {
            throw EngineError(.badRequest, "invalid host address \(address): use unix:///path or tcp://host:port")
        }
        let host = String(rest[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return try await bootstrap.bind(host: host.isEmpty ? "0.0.0.0" : host, port: port).get()
    }

    public func shutdown() async throws { try await group.shutdownGracefully() }
}

/// A count of the requests the server has received.
public final class RequestActivity: Sendable {
    private let count = Atomic<Int>(0)

    public var requestCount: Int { count.load(ordering: .relaxed) }

    func record() { count.add(1, ordering: .relaxed) }
}

/// Reads one request at a time, runs its route on the cooperative pool, writes the answer.
/// Upload routes get their body as it arrives (`APIRequest.upload`), with reads paused while the
/// route is behind; every other body is read whole, up to `maxBody`.
final class HTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: Router
    private let activity: RequestActivity
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    /// The request whose body is being read whole, and whether its connection is kept alive.
    private var pending: (request: APIRequest, keepAlive: Bool)?
    private var body: ByteBuffer?
    /// The upload being fed to its route, until its last chunk.
    private var upload: RequestBody.Producer.Source?
    /// Whether the route is behind on the upload: reads wait (`pendingRead`) until it catches up.
    private var readsHeld = false
    private var pendingRead = false
    /// The answer to an unfinished upload is written: close once the client has sent the rest.
    private var closeWhenUploadEnds = false
    /// Whether a route is answering (a long poll or stream may take as long as it needs).
    private var answering = false
    /// Closes the connection when a request's head (or its body) stops arriving: slow or idle
    /// clients cannot hold connections forever. Not armed while a route answers or after a hijack.
    private var deadline: Scheduled<Void>?
    /// The largest body read whole: JSON bodies are small; archives are uploads and not limited.
    static let maxBody = 64 << 20
    /// As Go's servers: a head must arrive within this, and a body must keep moving.
    static let readTimeout: TimeAmount = .seconds(60)

    init(router: Router, activity: RequestActivity, encoder: HTTPResponseEncoder, decoder: ByteToMessageHandler<HTTPRequestDecoder>) {
        self.router = router
        self.activity = activity
        self.encoder = encoder
        self.decoder = decoder
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        upload?.finish(TruncatedBody())
        upload = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld { pendingRead = true } else { context.read() }
    }

    private func armDeadline(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: Self.readTimeout) { channel.close(promise: nil) }
    }

    /// Reads go on: the route caught up with the upload, or stopped reading it (the rest is dropped).
    private func releaseReads(_ context: ChannelHandlerContext) {
        guard readsHeld else { return }
        readsHeld = false
        if upload != nil { armDeadline(context) }
        if pendingRead {
            pendingRead = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(requestHead):
            guard requestHead.version.major == 1 else {
                refuse(context, 505, "HTTP version \(requestHead.version) is not supported: use HTTP/1.1")
                return
            }
            armDeadline(context)
            var request = Router.makeRequest(head: requestHead, body: [])
            if Router.takesUpload(request) {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                let release: @Sendable () -> Void = {
                    eventLoop.execute { loopBound.value.0.releaseReads(loopBound.value.1) }
                }
                let (stream, source) = RequestBody.make(control: .init(resume: release, abandoned: release))
                request.upload = stream
                upload = source
                // curl asks before it sends a large upload, and waits a second without an answer.
                if requestHead.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
                }
                answering = true
                dispatch(context: context, request: request, keepAlive: requestHead.isKeepAlive)
                return
            }
            if let length = requestHead.headers.first(name: "Content-Length").flatMap(Int.init), length > Self.maxBody {
                refuse(context, 413, "request body too large: the limit is \(Self.maxBody) bytes")
                return
            }
            pending = (request, requestHead.isKeepAlive)
            body = context.channel.allocator.buffer(capacity: 0)
        case var .body(chunk):
            if let upload {
                switch upload.yield(chunk) {
                case .produceMore: armDeadline(context)
                case .stopProducing:
                    readsHeld = true
                    deadline?.cancel()
                case .dropped: armDeadline(context)
                }
                return
            }
            guard pending != nil else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBody {
                refuse(context, 413, "request body too large: the limit is \(Self.maxBody) bytes")
                return
            }
            body?.writeBuffer(&chunk)
            armDeadline(context)
        case .end:
            if let upload {
                upload.finish()
                self.upload = nil
                deadline?.cancel()
                if closeWhenUploadEnds { context.close(promise: nil) }
                return
            }
            guard var complete = pending else { return }
            pending = nil
            complete.request.body = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            deadline?.cancel()
            answering = true
            dispatch(context: context, request: complete.request, keepAlive: complete.keepAlive)
        }
    }

    /// A request HTTP/1.1 cannot carry (bad framing, oversized head, unknown method): answered
    /// with the status that names the fault, then the connection closes, as Go's server does.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        switch parserError {
        case .headerOverflow: refuse(context, 431, "request header fields too large")
        case .invalidMethod: refuse(context, 501, "unsupported method")
        case .invalidVersion: refuse(context, 505, "HTTP version not supported: use HTTP/1.1")
        default: refuse(context, 400, "malformed HTTP request: \(parserError)")
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ status: Int, _ message: String) {
        pending = nil
        body = nil
        upload?.finish(TruncatedBody())
        upload = nil
        deadline?.cancel()
        // A route still answering owns the response: the connection can only be dropped.
        guard !answering else {
            context.close(promise: nil)
            return
        }
        answering = true
        let bytes = JSONValue.object(["message": .string(message)]).bytes + [10]
        writeWhole(context, status, contentType: "application/json", bytes, keepAlive: false, method: .GET) { future in
            let channel = context.channel
            future.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The answer is written: the connection waits for its next request, within the read timeout.
    private func answered(_ context: ChannelHandlerContext) {
        answering = false
        if context.channel.isActive { armDeadline(context) }
    }

    private func dispatch(context: ChannelHandlerContext, request: APIRequest, keepAlive: Bool) {
        activity.record()
        let router = self.router
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let method = HTTPMethod(rawValue: request.method)
        Task {
            let response = await router.handle(request)
            eventLoop.execute {
                let (handler, context) = loopBound.value
                // An upload answered before its end (refused, or answered with a stream that
                // goes on reading it): the connection closes after this answer, since the
                // rest of the body may never be read.
                let unfinished = handler.upload != nil
                handler.respond(response, context: context, keepAlive: keepAlive && !unfinished, method: method)
            }
        }
    }

    private func responseHead(_ status: Int, _ headers: [(String, String)], keepAlive: Bool) -> HTTPResponseHead {
        var fields = HTTPHeaders(headers)
        fields.add(name: "Server", value: "Berth-Engine/\(Router.engineVersion) (linux)")
        fields.add(name: "Api-Version", value: Router.apiVersion)
        fields.add(name: "Ostype", value: "linux")
        fields.add(name: "Docker-Experimental", value: "false")
        fields.add(name: "Date", value: Router.httpDate())
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: fields)
        head.headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        return head
    }

    private func respond(_ response: APIResponse, context: ChannelHandlerContext, keepAlive: Bool, method: HTTPMethod) {
        let channel = context.channel
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        func finish(_ future: EventLoopFuture<Void>) {
            if keepAlive { answered(context) } else {
                future.whenComplete { _ in
                    let (handler, _) = loopBound.value
                    // A client still sending an upload that was refused is let finish (its
                    // chunks dropped) so that it reads the answer rather than a reset.
                    if handler.upload != nil { handler.closeWhenUploadEnds = true } else { channel.close(promise: nil) }
                }
            }
        }
        switch response {
        case let .json(status, value):
            let bytes = value.bytes + [10]
            writeWhole(context, status, contentType: "application/json", bytes, keepAlive: keepAlive, method: method, done: finish)
        case let .bytes(status, contentType, bytes, headers):
            writeWhole(context, status, contentType: contentType, bytes, headers: headers, keepAlive: keepAlive, method: method, done: finish)
        case let .empty(status), let .headers(status, _):
            var extra: [(String, String)] = []
            if case let .headers(_, fields) = response { extra = fields }
            var head = responseHead(status, extra, keepAlive: keepAlive)
            if status != 204 && status != 304 { head.headers.add(name: "Content-Length", value: "0") }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            finish(context.writeAndFlush(wrapOutboundOut(.end(nil))))
        case let .stream(contentType, headers, chunks):
            sendChunked(context, contentType: contentType, headers: headers, keepAlive: keepAlive) { try await Self.pump(chunks, to: $0) }
        case let .download(contentType, headers, chunks):
            sendChunked(context, contentType: contentType, headers: headers, keepAlive: keepAlive) { try await Self.pump(chunks, to: $0) }
        case let .hijack(contentType, action):
            hijack(context: context, contentType: contentType, action: action)
        }
    }

    /// A chunked response whose body `produce` writes (`pump`). `produce` answers whether the
    /// body is complete: if not, or if it throws, the connection closes without the final chunk,
    /// which tells the client the body is incomplete.
    private func sendChunked(_ context: ChannelHandlerContext, contentType: String, headers: [(String, String)], keepAlive: Bool,
                             produce: @escaping @Sendable (Channel) async throws -> Bool) {
        var head = responseHead(200, [("Content-Type", contentType)] + headers, keepAlive: keepAlive)
        head.headers.add(name: "Transfer-Encoding", value: "chunked")
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let streaming = Task {
            let complete = (try? await produce(channel)) ?? false
            guard complete, channel.isActive else {
                try? await channel.close()
                return
            }
            try? await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
            if !keepAlive { try? await channel.close() } else {
                channel.eventLoop.execute { loopBound.value.0.answered(loopBound.value.1) }
            }
        }
        // A client that hangs up ends the stream (and `logs -f` / events with it).
        channel.closeFuture.whenComplete { _ in streaming.cancel() }
    }

    /// Writes every chunk as a body part, each read once the one before is handed to the socket
    /// (the client's pace sets the producer's; one chunk in flight keeps both busy); false if the
    /// client went first.
    private static func pump<Chunks: AsyncSequence>(_ chunks: Chunks, to channel: Channel) async throws -> Bool where Chunks.Element == [UInt8] {
        var inFlight: EventLoopFuture<Void>?
        // An empty chunk would read as the end of a chunked body.
        for try await chunk in chunks where !chunk.isEmpty {
            guard channel.isActive else { return false }
            var buffer = channel.allocator.buffer(capacity: chunk.count)
            buffer.writeBytes(chunk)
            let written = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: written)
            try await inFlight?.get()
            inFlight = written.futureResult
        }
        try await inFlight?.get()
        return true
    }

    private func writeWhole(_ context: ChannelHandlerContext, _ status: Int, contentType: String, _ bytes: [UInt8],
                            headers: [(String, String)] = [], keepAlive: Bool, method: HTTPMethod, done: (EventLoopFuture<Void>) -> Void) {
        var head = responseHead(status, [("Content-Type", contentType)] + headers, keepAlive: keepAlive)
        head.headers.add(name: "Content-Length", value: String(bytes.count))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        done(context.writeAndFlush(wrapOutboundOut(.end(nil))))
    }

    /// Docker's hijack: answer `101 UPGRADED` (or 200 for clients that did not ask to upgrade), then
    /// drop HTTP from the pipeline. Order matters: encoder, then raw handler, then self, then decoder.
    private func hijack(context: ChannelHandlerContext, contentType: String, action: @escaping HijackAction) {
        var headers = HTTPHeaders([("Content-Type", contentType)])
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Upgrade", value: "tcp")
        let head = HTTPResponseHead(version: .http1_1, status: .custom(code: 101, reasonPhrase: "UPGRADED"), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.flush()
        let pipeline = context.pipeline.syncOperations
        let glue = GlueHandler()
        _ = pipeline.removeHandler(encoder)
        let channel = context.channel
        _ = try? pipeline.addHandler(glue)
        _ = pipeline.removeHandler(context: context)
        _ = pipeline.removeHandler(decoder)
        let stream = HijackedStream(channel: channel, glue: NIOLoopBound(glue, eventLoop: channel.eventLoop))
        Task { await action(stream) }
    }
}
