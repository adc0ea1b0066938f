#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BerthOCI
import BerthSystem
import Glibc

/// Compiled seccomp programs kept under the runtime's state root (`ROOT/@seccomp`, a name no
/// container id can take), so that containers sharing a profile — Docker's default, mostly —
/// compile it once: libseccomp takes about 10 ms for that profile.
///
/// An entry is named after a 64-bit hash of its key (the profile as canonical JSON and
/// libseccomp's version) and stores the whole key: a hit is taken only when the stored key equals
/// the wanted one byte for byte, so a hash collision costs a compile, never a wrong filter.
/// Entries are written atomically, readable by root only; the root is usually a tmpfs under /run.
struct SeccompProgramCache {
    let directory: String

    init(root: String) { directory = root + "/@seccomp" }

    func program(for spec: RuntimeSpec.Seccomp) throws -> SeccompProgram {
        let key = Array(try JSONCoding.encoder.encode(spec)) + Array("\nlibseccomp \(SeccompFilter.libraryVersion)".utf8)
        let path = directory + "/" + Self.hexHash(key)
        if let cached = Self.decode(try? SmallFile.readBytes(path), key: key) { return cached }
        let program = try SeccompFilter.compile(spec)
        // A cache that cannot be written (read-only root, full disk) only costs the next compile.
        if (try? SmallFile.makeDirectories(directory, mode: 0o700)) != nil {
            try? SmallFile.writeAtomically(path, Self.encode(program, key: key), mode: 0o600, durability: .volatile)
        }
        return program
    }

    /// `KEYLEN(8, little endian) KEY FLAGS(4) INSTRUCTIONS`.
    static func encode(_ program: SeccompProgram, key: [UInt8]) -> [UInt8] {
        littleEndian(UInt64(key.count)) + key + littleEndian(program.flags) + Array(program.instructions)
    }

    static func decode(_ bytes: [UInt8]?, key: [UInt8]) -> SeccompProgram? {
        guard let bytes, bytes.count >= 12 + key.count, readLittleEndian(bytes[0..<8]) == UInt64(key.count),
              bytes[8..<(8 + key.count)].elementsEqual(key) else { return nil }
        let flagsStart = 8 + key.count
        let instructions = Data(bytes[(flagsStart + 4)...])
        guard !instructions.isEmpty, instructions.count % 8 == 0 else { return nil }
        return SeccompProgram(instructions: instructions, flags: UInt32(readLittleEndian(bytes[flagsStart..<(flagsStart + 4)])))
    }

    /// FNV-1a, 64 bits: only names the entry; the stored key decides a hit.
    static func hexHash(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    private static func readLittleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { ($0 << 8) | UInt64($1) }
    }
}
