#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A content digest such as `sha256:e3b0…`, validated on construction.
///
/// Only algorithms we can verify are accepted (sha256 and sha512), and the hex part must be
/// lowercase and of the algorithm's exact length, as the OCI image spec requires.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public enum Algorithm: String, Sendable, Codable {
        case sha256, sha512

        var hexLength: Int { self == .sha256 ? 64 : 128 }
    }

    public let algorithm: Algorithm
    /// Lowercase hex of the hash.
    public let encoded: String

    public init(parsing string: String) throws {
        guard let colon = string.firstIndex(of: ":") else {
            throw OCIError.invalidDigest(string, reason: "expected <algorithm>:<hex>")
        }
        let name = String(string[..<colon])
        let hex = String(string[string.index(after: colon)...])
        guard let algorithm = Algorithm(rawValue: name) else {
            throw OCIError.invalidDigest(string, reason: "unsupported algorithm \"\(name)\" (sha256 and sha512 are supported)")
        }
        guard hex.utf8.count == algorithm.hexLength else {
            throw OCIError.invalidDigest(string, reason: "\(name) needs \(algorithm.hexLength) hex characters, got \(hex.utf8.count)")
        }
        guard hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw OCIError.invalidDigest(string, reason: "hex part must be lowercase hexadecimal")
        }
        self.algorithm = algorithm
        self.encoded = hex
    }

    /// A digest from its parts; `encoded` must already be valid lowercase hex of the right length.
    public init(algorithm: Algorithm, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(parsing: try container.decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
