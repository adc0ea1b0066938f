import BerthOCI
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Hashing lives apart from the `Digest` type so that modules which only parse digests (the OCI
// runtime above all) do not link swift-crypto and, through it, Foundation and ICU.

extension BerthOCI.Digest {
    /// The sha256 digest of `bytes`.
    public static func sha256<D: DataProtocol>(of bytes: D) -> BerthOCI.Digest {
        BerthOCI.Digest(algorithm: .sha256, encoded: SHA256.hash(data: bytes).hexString)
    }

    /// Throws `OCIError.digestMismatch` unless `bytes` hash to this digest.
    public func verify<D: DataProtocol>(_ bytes: D) throws {
        let actual: BerthOCI.Digest
        switch algorithm {
        case .sha256: actual = BerthOCI.Digest(algorithm: .sha256, encoded: SHA256.hash(data: bytes).hexString)
        case .sha512: actual = BerthOCI.Digest(algorithm: .sha512, encoded: SHA512.hash(data: bytes).hexString)
        }
        if actual != self { throw OCIError.digestMismatch(expected: self, actual: actual) }
    }
}

/// Incremental sha256 for streams (layers are hashed while they download).
public struct DigestHasher {
    private var hasher = SHA256()

    public init() {}

    public mutating func update<D: DataProtocol>(_ bytes: D) { hasher.update(data: bytes) }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) { hasher.update(bufferPointer: buffer) }

    public func finalize() -> BerthOCI.Digest {
        BerthOCI.Digest(algorithm: .sha256, encoded: hasher.finalize().hexString)
    }
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
