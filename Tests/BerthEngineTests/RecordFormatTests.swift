@testable import BerthEngine
import Foundation
import Testing

/// Container records written by the previous version (before the typed models: `config` and
/// `hostConfig` held raw JSON) load into the typed record unchanged, a running container's
/// included, and are written back without losing a field.
@Suite("container records from the previous version")
struct RecordFormatTests {
    static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)"))
    }

    @Test("a running container's record reads into typed fields and writes back whole")
    func liveRecord() throws {
        let data = try Self.fixture("record-v1-live.json")
        let record = try JSONDecoder().decode(ContainerRecord.self, from: data)
        #expect(record.name == "live" && record.state.status == .running && record.state.pid > 0)
        #expect(record.config.env?.contains("A=1") == true && record.labels == ["app": "web"] && record.config.stopSignal == "SIGINT")
        #expect(record.config.healthcheck?.test == ["CMD-SHELL", "true"] && record.config.healthcheck?.interval == 30_000_000_000)
        let host = record.hostConfig
        #expect(host.memory == 64 << 20 && host.restartPolicy?.name == "on-failure" && host.restartPolicy?.maximumRetryCount == 2)
        #expect(host.ulimits?.first?.name == "nofile" && host.ulimits?.first?.soft == 100 && host.ulimits?.first?.hard == 200)
        #expect(host.binds == ["/tmp:/host-tmp:ro"] && host.tmpfs == ["/run2": "size=1m"] && host.mounts?.first?.type == "tmpfs")
        #expect(host.`init` == true && host.networkMode == "none")
        #expect(host.mistypedFields.isEmpty && record.config.mistypedFields.isEmpty)
        // Nothing lost: the record written again is the same JSON.
        let written = try JSONEncoder().encode(record)
        #expect(try JSONValue(parsing: written) == JSONValue(parsing: data))
        // And it still makes the container's spec.
        let spec = try SpecBuilder(record: record, rootfs: "/rootfs", user: .init(uid: 0, gid: 0), initBinary: "/bin/berth-init",
                                   defaultSeccomp: nil, facts: SpecBuilderTests.facts).build()
        #expect(spec.process?.rlimits == [.init(type: "RLIMIT_NOFILE", hard: 200, soft: 100)])
        #expect(spec.linux?.resources?.memory?.limit == 64 << 20)
    }

    @Test("a created container's record round-trips too")
    func createdRecord() throws {
        let data = try Self.fixture("record-v1-stopped.json")
        let record = try JSONDecoder().decode(ContainerRecord.self, from: data)
        #expect(record.state.status == .created && record.config.cmd == ["true"])
        #expect(try JSONValue(parsing: try JSONEncoder().encode(record)) == JSONValue(parsing: data))
    }
}
