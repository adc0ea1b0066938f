import CIsal

/// Gunzips its upstream with ISA-L when the stream starts with gzip's magic bytes, and passes
/// anything else through untouched (libarchive recognises zstd or a plain tar by itself).
///
/// Layers are gzip almost always, and inflating them is the largest share of a pull's CPU time;
/// ISA-L inflates about three times as fast as zlib, which libarchive would use. Concatenated
/// gzip members are read one after another, as gzip(1) does; the CRC of each is checked.
public final class GunzipSource: ByteSource {
    private enum Mode { case undecided, gzip, passThrough, finished }

    private let upstream: ByteSource
    private let state = UnsafeMutablePointer<inflate_state>.allocate(capacity: 1)
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var mode = Mode.undecided
    private var upstreamEnded = false
    /// Pass-through bytes read while deciding, not yet handed on.
    private var pending = 0..<0

    public init(_ upstream: ByteSource) {
        self.upstream = upstream
    }

    deinit {
        state.deallocate()
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if mode == .undecided { try decide() }
        switch mode {
        case .undecided, .finished:
            return 0
        case .passThrough:
            guard !pending.isEmpty else { return try upstream.read(into: buffer) }
            let n = min(buffer.count, pending.count)
            buffer.baseAddress!.copyMemory(from: input.baseAddress! + pending.lowerBound, byteCount: n)
            pending = (pending.lowerBound + n)..<pending.upperBound
            return n
        case .gzip:
            return try inflate(into: buffer)
        }
    }

    /// Reads the first bytes (at least two, unless the stream is shorter) and looks at them.
    private func decide() throws {
        var filled = 0
        while filled < 2 {
            let n = try upstream.read(into: UnsafeMutableRawBufferPointer(rebasing: input[filled...]))
            if n == 0 { upstreamEnded = true; break }
            filled += n
        }
        if filled >= 2 && input[0] == 0x1f && input[1] == 0x8b {
            mode = .gzip
            startMember(at: 0, count: filled)
        } else {
            mode = .passThrough
            pending = 0..<filled
        }
    }

    private func startMember(at offset: Int, count: Int) {
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
        state.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset
        state.pointee.avail_in = UInt32(count)
    }

    private func inflate(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if state.pointee.avail_in == 0 && !upstreamEnded { try refill() }
            state.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            state.pointee.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
            let rc = isal_inflate(state)
            guard rc >= 0 else { throw ArchiveError.corrupt("gzip: \(Self.describe(rc))") }
            let produced = buffer.count - Int(state.pointee.avail_out)
            if state.pointee.block_state == ISAL_BLOCK_FINISH {
                try nextMember()
            } else if produced == 0 && state.pointee.avail_in == 0 && upstreamEnded {
                throw ArchiveError.corrupt("gzip: unexpected end of data")
            }
            if produced > 0 { return produced }
            if mode == .finished { return 0 }
        }
    }

    /// After one member: another one follows, or the stream ends (trailing zeros are ignored,
    /// as gzip(1) ignores them).
    private func nextMember() throws {
        if state.pointee.avail_in == 0 && !upstreamEnded { try refill() }
        let left = Int(state.pointee.avail_in)
        let at = UnsafeRawPointer(state.pointee.next_in!) - UnsafeRawPointer(input.baseAddress!)
        if left >= 2 && input[at] == 0x1f && input[at + 1] == 0x8b {
            startMember(at: at, count: left)
        } else {
            mode = .finished
        }
    }

    private func refill() throws {
        let n = try upstream.read(into: input)
        if n == 0 { upstreamEnded = true }
        state.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_in = UInt32(n)
    }

    private static func describe(_ code: Int32) -> String {
        switch code {
        case ISAL_INVALID_BLOCK: "invalid deflate block"
        case ISAL_INVALID_SYMBOL: "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: "invalid back-reference distance"
        case ISAL_INVALID_WRAPPER: "invalid gzip header"
        case ISAL_INCORRECT_CHECKSUM: "checksum mismatch (corrupt data)"
        case ISAL_UNSUPPORTED_METHOD: "unsupported compression method"
        default: "inflate error \(code)"
        }
    }
}
