@testable import BerthRuntime
import Testing

@Suite("D-Bus messages")
struct DBusMessageTests {
    @Test("a StartTransientUnit call reads back as written: alignment of arrays, structs and variants")
    func roundTrip() throws {
        let call = DBusMessage.call(serial: 7, destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1",
                                    interface: "org.freedesktop.systemd1.Manager", member: "StartTransientUnit", [
            .string("cri-abc.scope"), .string("replace"),
            .array(elementType: "(sv)", [
                .structure([.string("Slice"), .variant(.string("kubepods.slice"))]),
                .structure([.string("Delegate"), .variant(.bool(true))]),
                .structure([.string("PIDs"), .variant(.array(elementType: "u", [.uint32(4242)]))]),
                .structure([.string("MemoryMax"), .variant(.uint64(1 << 40))]),
            ]),
            .array(elementType: "(sa(sv))", []),
        ])
        let bytes = call.encoded()
        #expect(try DBusMessage.length(of: bytes) == bytes.count)
        #expect(try DBusMessage.length(of: Array(bytes.prefix(15))) == nil)
        #expect(try DBusMessage(decoding: bytes) == call)
    }

    @Test("signatures split into complete types")
    func signatures() throws {
        var signature = Substring("uoa(sv)a{sv}(s(ii))s")
        var types: [String] = []
        while !signature.isEmpty { types.append(try DBusReader.nextType(&signature)) }
        #expect(types == ["u", "o", "a(sv)", "a{sv}", "(s(ii))", "s"])
    }

    @Test("a truncated or foreign-endian message is an error, not a crash")
    func malformed() throws {
        let bytes = DBusMessage.call(serial: 1, destination: "d", path: "/p", interface: "i.f", member: "M", [.string("x")]).encoded()
        #expect(throws: DBusError.self) { try DBusMessage(decoding: Array(bytes.dropLast(3))) }
        var big = bytes
        big[0] = UInt8(ascii: "B")
        #expect(throws: DBusError.self) { try DBusMessage.length(of: big) }
    }
}
