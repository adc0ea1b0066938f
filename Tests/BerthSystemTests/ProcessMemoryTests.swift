import BerthSystem
import Foundation
import Testing

// Serialized: one test releasing pages would drop the other's freshly touched mapping.
@Suite("ProcessMemory: idle pages go back to the kernel, written pages stay", .serialized)
struct ProcessMemoryTests {
    static let size = 1 << 20

    /// A file of `size` bytes whose every byte is known.
    static func makeFile() throws -> (path: String, fd: Int32) {
        let path = NSTemporaryDirectory() + "process-memory-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        return (path, fd)
    }

    /// The resident KiB of the mapping that starts at `address`, from /proc/self/smaps.
    static func residentKiB(_ address: UnsafeMutableRawPointer) throws -> Int? {
        let prefix = String(UInt(bitPattern: address), radix: 16) + "-"
        let smaps = try SmallFile.read("/proc/self/smaps")
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if line.first?.isHexDigit == true, line.contains("-") { inMapping = line.hasPrefix(prefix) }
            if inMapping, line.hasPrefix("Rss:") { return Int(line.split(separator: " ")[1]) }
        }
        return nil
    }

    static func touch(_ base: UnsafeMutableRawPointer) -> Int {
        var sum = 0
        for offset in stride(from: 0, to: size, by: 4096) { sum &+= Int(base.load(fromByteOffset: offset, as: UInt8.self)) }
        return sum
    }

    @Test("a read-only file mapping is dropped and reads the same afterwards")
    func readOnlyMappingIsReleased() throws {
        let (path, fd) = try Self.makeFile()
        defer { close(fd); unlink(path) }
        let base = try #require(mmap(nil, Self.size, PROT_READ, MAP_PRIVATE, fd, 0).flatMap { $0 == MAP_FAILED ? nil : $0 })
        defer { munmap(base, Self.size) }
        let sum = Self.touch(base)
        let resident = try Self.residentKiB(base)
        #expect(resident == Self.size / 1024, "\(String(describing: resident)) \(base)")
        ProcessMemory.releaseIdlePages()
        #expect(try Self.residentKiB(base) == 0)
        #expect(Self.touch(base) == sum)
    }

    @Test("private mappings holding a write keep it, writable or made read-only again")
    func writtenMappingsAreKept() throws {
        let (path, fd) = try Self.makeFile()
        defer { close(fd); unlink(path) }
        var mappings: [UnsafeMutableRawPointer] = []
        defer { for base in mappings { munmap(base, Self.size) } }
        for protectAfterWrite in [false, true] {
            let base = try #require(mmap(nil, Self.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0).flatMap { $0 == MAP_FAILED ? nil : $0 })
            mappings.append(base)
            _ = Self.touch(base)
            base.storeBytes(of: 0xAB, toByteOffset: 8192, as: UInt8.self)
            // As the dynamic linker does with relocated data (RELRO): written, then read-only.
            if protectAfterWrite { #expect(mprotect(base, Self.size, PROT_READ) == 0) }
        }
        ProcessMemory.releaseIdlePages()
        for base in mappings {
            #expect(base.load(fromByteOffset: 8192, as: UInt8.self) == 0xAB)
            #expect(try Self.residentKiB(base) == Self.size / 1024)
        }
    }
}
