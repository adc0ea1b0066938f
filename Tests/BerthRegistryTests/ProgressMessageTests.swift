import BerthOCI
import BerthRegistry
import Foundation
import Testing

@Suite("Progress messages")
struct ProgressMessageTests {
    @Test("sizes read as Docker prints them", arguments: [
        (Int64(0), "0B"), (512, "512B"), (1000, "1kB"), (2_150_912, "2.151MB"), (48_539_564, "48.54MB"), (1_234_567_890, "1.235GB"),
    ])
    func humanSize(bytes: Int64, text: String) {
        #expect(ProgressMessage.humanSize(bytes) == text)
    }

    @Test("bars and JSON match Docker's jsonmessage")
    func bar() throws {
        #expect(ProgressMessage.bar(current: 0, total: 100) == "[>" + String(repeating: " ", count: 50) + "]       0B/100B")
        #expect(ProgressMessage.bar(current: 1_000_000, total: 2_000_000) == "[" + String(repeating: "=", count: 25) + ">" + String(repeating: " ", count: 25) + "]      1MB/2MB")
        let json = try JSONEncoder().encode(PullEvent.downloading("0999d7bdbe57", current: 1000, total: 2000).message)
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["status"] as? String == "Downloading")
        #expect(object?["id"] as? String == "0999d7bdbe57")
        #expect((object?["progressDetail"] as? [String: Int])?["current"] == 1000)
        #expect((object?["progress"] as? String)?.hasSuffix("1kB/2kB") == true)
        #expect(PullEvent.pullComplete("abc").message.status == "Pull complete")
    }

    @Test("plain output: one line per status change; a terminal redraws each layer's line in place")
    func renderer() {
        var plain = ProgressRenderer(mode: .plain)
        let events: [PullEvent] = [.resolving(path: "library/busybox", tag: "latest"), .waiting("a"), .downloading("a", current: 1, total: 4),
                                   .downloading("a", current: 2, total: 4), .pullComplete("a"), .digest(Digest.sha256Empty)]
        let text = events.map { plain.render($0.message) }.joined()
        #expect(text == "latest: Pulling from library/busybox\na: Waiting\na: Downloading\na: Pull complete\nDigest: \(Digest.sha256Empty)\n")
        var tty = ProgressRenderer(mode: .terminal)
        #expect(tty.render(PullEvent.waiting("a").message) == "a: Waiting\n")
        #expect(tty.render(PullEvent.waiting("b").message) == "b: Waiting\n")
        let redraw = tty.render(PullEvent.downloading("a", current: 2, total: 4).message)
        #expect(redraw.hasPrefix("\u{1B}[2A\u{1B}[2K\ra: Downloading ["))
        #expect(redraw.hasSuffix("\u{1B}[2B\r"))
    }
}

extension Digest {
    static let sha256Empty = try! Digest(parsing: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
}
