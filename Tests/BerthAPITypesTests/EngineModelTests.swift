import BerthAPITypes
import Foundation
import Testing

/// The typed Engine API models: what the docker CLI sends reads into typed fields and back
/// into the same JSON; nothing a client sends is dropped.
@Suite("typed Engine API models")
struct EngineModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ name: String) throws -> JSONValue {
        try JSONValue(parsing: Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    @Test("a docker CLI 28 create body reads into typed fields and writes back unchanged")
    func dockerCreateBody() throws {
        let body = try Self.fixture("docker-cli-28-create.json")
        let request = ContainerCreateRequest(json: body)
        #expect(request.json == body)
        #expect(request.config.unknownFields.isEmpty && request.hostConfig?.unknownFields.isEmpty == true)
        #expect(request.config.cmd == ["-c", "echo hi"] && request.config.entrypoint == ["/bin/sh"])
        #expect(request.config.exposedPorts == ["53/udp", "80/tcp"])
        #expect(request.config.healthcheck?.test == ["CMD-SHELL", "wget -q localhost"] && request.config.healthcheck?.interval == 5_000_000_000)
        #expect(request.config.nullFields.contains("OnBuild"))
        let host = try #require(request.hostConfig)
        #expect(host.memory == 1 << 30 && host.memorySwap == 2 << 30 && host.nanoCpus == 1_500_000_000)
        #expect(host.portBindings?["80/tcp"]??.first?.hostIp == "127.0.0.1" && host.portBindings?["80/tcp"]??.first?.hostPort == "8080")
        #expect(host.ulimits?.first == { var limit = Ulimit(); limit.name = "nofile"; limit.soft = 1024; limit.hard = 2048; return limit }())
        #expect(host.restartPolicy?.name == "on-failure" && host.restartPolicy?.maximumRetryCount == 3)
        #expect(host.mounts?.first?.type == "tmpfs" && host.mounts?.first?.tmpfsOptions?.sizeBytes == 1 << 20)
        #expect(host.logConfig?.config == ["max-size": "10m"] && host.`init` == true)
        #expect(host.devices?.first?.pathOnHost == "/dev/fuse" && host.capAdd == ["CAP_NET_ADMIN"] && host.sysctls == ["net.ipv4.ip_forward": "1"])
        #expect(request.networkingConfig?.endpointsConfig == [:])
    }

    @Test("unknown fields, values of another type and nulls are kept as sent")
    func nothingDropped() throws {
        let body = try JSONValue(parsing: Array(#"{"Image":"busybox","Future":{"x":1},"Cmd":"true","HostConfig":{"Memory":"lots","Binds":null,"NewKnob":true,"PortBindings":{"80/tcp":null}}}"#.utf8))
        let request = ContainerCreateRequest(json: body)
        #expect(request.config.unknownFields["Future"] == .object(["x": .int(1)]))
        #expect(request.config.cmd == ["true"])
        let host = try #require(request.hostConfig)
        #expect(host.memory == nil && host.unknownFields["Memory"] == .string("lots") && host.unknownFields["NewKnob"] == .bool(true))
        #expect(host.nullFields == ["Binds"] && host.portBindings?["80/tcp"] == .some(nil))
        // A lone string for Cmd is Go's StrSlice: written back as the array dockerd stores.
        var expected = body
        expected["Cmd"] = .array([.string("true")])
        #expect(request.json == expected)
    }

    @Test("every field of the spec's HostConfig and Resources has a typed property")
    func fieldCoverage() {
        #expect(HostConfig.fieldNames.count == 70)
        #expect(Resources.fieldNames.isSubset(of: HostConfig.fieldNames))
        #expect(HostConfig.fieldNames.isSuperset(of: ["Binds", "Mounts", "PortBindings", "RestartPolicy", "Ulimits", "LogConfig", "Init",
                                                       "IOMaximumBandwidth", "DeviceRequests", "ConsoleSize", "MaskedPaths"]))
        #expect(ContainerConfig.fieldNames.count == 25 && EndpointSettings.fieldNames.count == 15)
    }
}

@Suite("JSON serialization")
struct JSONSerializationTests {
    @Test("compact, keys sorted, slashes kept, control characters escaped; integral numbers as integers")
    func exactBytes() throws {
        let value: JSONValue = .object(["b": .array([.int(-3), .double(2.0), .double(0.5), .double(1e300), .null, .bool(true)]),
                                        "a": .string("q\"\\/é\n\t\u{01}"), "": .object([:])])
        let text = String(decoding: value.bytes, as: UTF8.self)
        #expect(text == #"{"":{},"a":"q\"\\/é\n\t\u0001","b":[-3,2,0.5,1e+300,null,true]}"#)
        #expect(try JSONValue(parsing: value.bytes) == .object(["b": .array([.int(-3), .int(2), .double(0.5), .double(1e300), .null, .bool(true)]),
                                                                "a": .string("q\"\\/é\n\t\u{01}"), "": .object([:])]))
        #expect(String(decoding: JSONValue.double(.nan).bytes, as: UTF8.self) == "null")
    }

    @Test("a docker CLI body serializes to what parses back to it")
    func roundTrip() throws {
        let body = try EngineModelTests.fixture("docker-cli-28-create.json")
        #expect(try JSONValue(parsing: body.bytes) == body)
    }
}
