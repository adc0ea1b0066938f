import BerthEngine
import Foundation
import Testing

@Suite("daemon.json log-level")
struct DaemonConfigLogLevelTests {
    @Test("dockerd's level names are taken, anything else refused naming the key", arguments: ["debug", "info", "warn", "error", "fatal"])
    func levels(name: String) throws {
        var config = DaemonConfig(binaryDirectory: "/x")
        try config.apply(fileContents: Data("{\"log-level\": \"\(name)\"}".utf8), path: "daemon.json")
        #expect(config.logLevel == name)
        #expect(EngineLog.level(name) != nil)
    }

    @Test("an unknown level is refused")
    func unknown() {
        var config = DaemonConfig(binaryDirectory: "/x")
        #expect(throws: EngineError.self) { try config.apply(fileContents: Data("{\"log-level\": \"loud\"}".utf8), path: "daemon.json") }
    }
}
