import BerthEngine
import Foundation
import NIOSSL

/// dockerd's TLS modes for TCP listeners: `--tls` (server certificate only) and `--tlsverify`
/// (clients must present a certificate signed by `--tlscacert`).
public enum TLSSettings {
    /// The server context for `config`, or `nil` when TLS is off.
    public static func serverContext(_ config: DaemonConfig) throws -> NIOSSLContext? {
        guard config.tls || config.tlsVerify else { return nil }
        guard let certPath = config.tlsCert, let keyPath = config.tlsKey else {
            throw EngineError(.badRequest, "TLS needs a certificate and a key: set --tlscert and --tlskey (or tlscert/tlskey in daemon.json)")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certPath) } catch {
            throw EngineError(.badRequest, "could not load the TLS certificate \(certPath): \(error)")
        }
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw EngineError(.badRequest, "could not load the TLS key \(keyPath): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if config.tlsVerify {
            guard let caPath = config.tlsCACert else {
                throw EngineError(.badRequest, "--tlsverify needs the CA that signs client certificates: set --tlscacert")
            }
            guard FileManager.default.fileExists(atPath: caPath) else {
                throw EngineError(.badRequest, "could not read CA certificate \(caPath): no such file")
            }
            tls.trustRoots = .file(caPath)
            // Clients are identified by their certificate, not a host name.
            tls.certificateVerification = .noHostnameVerification
        }
        do { return try NIOSSLContext(configuration: tls) } catch {
            throw EngineError(.badRequest, "invalid TLS configuration: \(error)")
        }
    }
}
