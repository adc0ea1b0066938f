import BerthOCI

/// The eBPF program that enforces `linux.resources.devices` on cgroup v2, where there is no
/// devices controller: the kernel runs it on every device open and mknod in the cgroup.
///
/// It keeps v1's meaning of the rule list: later rules override earlier ones, so the program
/// tests rules last to first and the first match decides; no match denies. An allow rule matches
/// when every requested access is among its accesses; a deny rule when any of them is.
struct DeviceFilterProgram {
    /// Encoded `struct bpf_insn`s (little-endian: code, dst|src<<4, off, imm).
    private(set) var instructions: [UInt64] = []

    init(rules: [RuntimeSpec.DeviceCgroup]) throws {
        // r1 = ctx { u32 access_type (access << 16 | type), u32 major, u32 minor }
        emit(0x61, dst: 2, src: 1, off: 0)          // r2 = ctx->access_type
        emit(0xbf, dst: 3, src: 2)                   // r3 = r2
        emit(0x54, dst: 3, imm: 0xffff)              // w3 &= 0xffff          (type)
        emit(0xbf, dst: 4, src: 2)                   // r4 = r2
        emit(0x77, dst: 4, imm: 16)                  // r4 >>= 16             (access)
        emit(0x61, dst: 5, src: 1, off: 4)          // r5 = ctx->major
        emit(0x61, dst: 6, src: 1, off: 8)          // r6 = ctx->minor
        for rule in rules.reversed() {
            var block = Block()
            switch rule.type ?? "a" {
            case "a": break
            case "c": block.skipUnless(register: 3, equals: 2)   // BPF_DEVCG_DEV_CHAR
            case "b": block.skipUnless(register: 3, equals: 1)   // BPF_DEVCG_DEV_BLOCK
            case let other: throw RuntimeError.invalidConfig("device rule type \"\(other)\" is not a, b or c")
            }
            let access = try Self.accessMask(rule.access ?? "rwm")
            if access != 0b111 {
                block.add(0xbf, dst: 7, src: 4)                            // r7 = requested access
                if rule.allow {
                    block.add(0x57, dst: 7, imm: Int32(~access & 0b111))   // r7 &= ~allowed
                    block.addSkip(0x55, dst: 7, imm: 0)                    // anything else asked: no match
                } else {
                    block.add(0x57, dst: 7, imm: Int32(access))            // r7 &= denied
                    block.addSkip(0x15, dst: 7, imm: 0)                    // none of them asked: no match
                }
            }
            if let major = rule.major, major >= 0 { block.skipUnless(register: 5, equals: Int32(truncatingIfNeeded: major)) }
            if let minor = rule.minor, minor >= 0 { block.skipUnless(register: 6, equals: Int32(truncatingIfNeeded: minor)) }
            block.add(0xb7, dst: 0, imm: rule.allow ? 1 : 0)               // r0 = verdict
            block.add(0x95)                                                // exit
            instructions += block.encoded()
            // A rule that matches everything decides alone; the verifier refuses unreachable code.
            if !block.isConditional { return }
        }
        emit(0xb7, dst: 0, imm: 0)                   // no rule matched: deny
        emit(0x95)
    }

    static func accessMask(_ access: String) throws -> UInt32 {
        var mask: UInt32 = 0
        for c in access {
            switch c {
            case "m": mask |= 1   // BPF_DEVCG_ACC_MKNOD
            case "r": mask |= 2   // BPF_DEVCG_ACC_READ
            case "w": mask |= 4   // BPF_DEVCG_ACC_WRITE
            default: throw RuntimeError.invalidConfig("device access \"\(access)\" may only contain r, w and m")
            }
        }
        return mask
    }

    private mutating func emit(_ code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) {
        instructions.append(Self.encode(code, dst: dst, src: src, off: off, imm: imm))
    }

    static func encode(_ code: UInt8, dst: UInt8, src: UInt8, off: Int16, imm: Int32) -> UInt64 {
        UInt64(code) | UInt64(dst & 0xf | (src & 0xf) << 4) << 8 | UInt64(UInt16(bitPattern: off)) << 16
            | UInt64(UInt32(bitPattern: imm)) << 32
    }

    /// One rule's instructions; conditional jumps skip to the end of the block (the next rule).
    private struct Block {
        private var items: [(code: UInt8, dst: UInt8, src: UInt8, imm: Int32, skips: Bool)] = []

        mutating func add(_ code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, imm: Int32 = 0) {
            items.append((code, dst, src, imm, false))
        }

        mutating func addSkip(_ code: UInt8, dst: UInt8, imm: Int32) {
            items.append((code, dst, 0, imm, true))
        }

        /// `if register != value` jump past this rule.
        mutating func skipUnless(register: UInt8, equals value: Int32) {
            addSkip(0x55, dst: register, imm: value)   // JNE K
        }

        var isConditional: Bool { items.contains { $0.skips } }

        func encoded() -> [UInt64] {
            items.enumerated().map { index, item in
                let off = item.skips ? Int16(items.count - index - 1) : 0
                return DeviceFilterProgram.encode(item.code, dst: item.dst, src: item.src, off: off, imm: item.imm)
            }
        }
    }
}
