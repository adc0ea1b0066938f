import Glibc
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// TLS settings of a client connection, as the docker CLI takes them (`--tls`, `--tlsverify`,
/// `--tlscacert/--tlscert/--tlskey`, or a context's TLS material).
public struct ClientTLS: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Verify the daemon's certificate (against `caFile`, or the system roots) and its name.
    public var verify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, verify: Bool) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.verify = verify
    }
}

/// A TLS connection presented as a plain socket: the engine client's blocking code (requests,
/// chunked bodies, hijacked attach streams with half-close) reads and writes one end of a
/// socketpair, and swift-nio-ssl carries the other end's bytes to the daemon over TLS.
enum TLSRelay {
    /// One event-loop thread for the whole process, made on first use.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Connects and completes the handshake; returns the plaintext end for the caller to own.
    static func connect(host: String, port: Int, tls: ClientTLS) throws -> Int32 {
        let context = try makeContext(tls)
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw EngineClient.Failure.protocolError("socketpair: \(String(cString: strerror(errno)))")
        }
        do {
            let handshake = group.next().makePromise(of: Void.self)
            let remote = try ClientBootstrap(group: group)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // A name is checked against the certificate; an IP address against its IP SANs.
                        let name = tls.verify && !isAddress(host) ? host : nil
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: name))
                        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(handshake))
                    }
                }
                .connect(host: host, port: port).wait()
            try handshake.futureResult.wait()
            let local = try ClientBootstrap(group: group)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(pair[1]).wait()
            try remote.pipeline.addHandler(Relay(to: local)).wait()
            try local.pipeline.addHandler(Relay(to: remote)).wait()
            return pair[0]
        } catch {
            close(pair[0])
            close(pair[1])
            if let failure = error as? EngineClient.Failure { throw failure }
            throw EngineClient.Failure.unreachable(host: "tcp://\(host):\(port)", reason: "\(error)")
        }
    }

    static func makeContext(_ tls: ClientTLS) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = tls.verify ? .fullVerification : .none
        do {
            if let ca = tls.caFile { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            if let cert = tls.certFile, let key = tls.keyFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw EngineClient.Failure.protocolError("could not load the TLS certificates (\(tls.caFile ?? "-"), \(tls.certFile ?? "-"), \(tls.keyFile ?? "-")): \(error)")
        }
    }

    static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Resolves the handshake promise: success when TLS is up, the error when it failed.
    final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        private let promise: EventLoopPromise<Void>
        private var done = false

        init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event, !done {
                done = true
                promise.succeed(())
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            if !done {
                done = true
                promise.fail(error)
            }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !done {
                done = true
                promise.fail(EngineClient.Failure.protocolError("the daemon closed the TLS connection during the handshake"))
            }
            context.fireChannelInactive()
        }
    }

    /// Forwards what one side reads to the other side; an end of input becomes a half-close.
    final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let peer: Channel

        init(to peer: Channel) { self.peer = peer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { peer.close(mode: .output, promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}
