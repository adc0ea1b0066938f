import BerthSystem
import Glibc

/// The runtime ⇄ container-init conversation: one SOCK_SEQPACKET message per step,
/// so a passed terminal descriptor can never be confused with text.
struct SyncChannel {
    enum Message: Equatable {
        case text(String, argument: String)
        case descriptor(String, fd: Int32)
        case closed
    }

    let fd: Int32

    static func pair() throws -> (parent: SyncChannel, child: SyncChannel) {
        let (a, b) = try FileDescriptors.socketPair(seqpacket: true)
        return (SyncChannel(fd: a), SyncChannel(fd: b))
    }

    func send(_ tag: String, _ argument: String = "") {
        let bytes = Array((argument.isEmpty ? tag : tag + " " + argument).utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func send(_ tag: String, fd descriptor: Int32) throws {
        try FileDescriptors.send(fd: descriptor, over: fd, message: Array(tag.utf8))
    }

    func receive() throws -> Message {
        let (bytes, received) = try FileDescriptors.receiveMessage(over: fd)
        if bytes.isEmpty && received == nil { return .closed }
        let text = String(decoding: bytes, as: UTF8.self)
        if let received { return .descriptor(text, fd: received) }
        guard let space = text.firstIndex(of: " ") else { return .text(text, argument: "") }
        return .text(String(text[..<space]), argument: String(text[text.index(after: space)...]))
    }

    /// Receives and requires `tag`; an `error` message becomes the thrown error.
    func expect(_ tag: String) throws -> String {
        switch try receive() {
        case let .text(t, argument) where t == tag: return argument
        case let .text("error", argument): throw RuntimeError.setup(argument)
        case .closed: throw RuntimeError.setup("container process exited before \(tag)")
        case let other: throw RuntimeError.setup("unexpected message from container process: \(other) (wanted \(tag))")
        }
    }

    func close() { _ = Glibc.close(fd) }
}
