import BerthAPITypes
import Testing

@Suite("sizes as Docker's flags take them")
struct ByteSizeTests {
    @Test("go-units RAMInBytes: units in powers of 1024, optional i and b, any case", arguments: [
        ("512", 512), ("10m", 10 << 20), ("1.5g", 1536 << 20), ("64MiB", 64 << 20), ("2 GB", 2 << 30), ("1k", 1024),
        ("3b", 3), ("1T", 1 << 40),
    ] as [(String, Int64)])
    func sizes(text: String, bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("anything else is no size", arguments: ["1bb", "m", "", "-1", "10x", "1mbb", "1.2.3m", "1e30g"])
    func refused(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }
}
