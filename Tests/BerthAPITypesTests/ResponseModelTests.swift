import BerthAPITypes
import Testing

/// The typed answers (inspect bodies, summaries, events): what dockerd's shapes hold reads into
/// typed fields, and the JSON a model writes is the JSON it read, nulls and extra fields included.
@Suite("typed Engine API answers")
struct ResponseModelTests {
    static func parse(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test("a container inspect body in dockerd's shape reads into typed fields and writes back unchanged")
    func containerInspect() throws {
        let body = try Self.parse(#"""
            {"Id":"4fa6e0f0c678","Created":"2026-12-06T10:00:00.123456789Z","Path":"sh","Args":["-c","sleep 9"],
             "State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,
                      "Pid":4242,"ExitCode":0,"Error":"","StartedAt":"2026-12-06T10:00:01Z","FinishedAt":"0001-01-01T00:00:00Z",
                      "Health":{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"a","End":"b","ExitCode":0,"Output":"ok\n"}]}},
             "Image":"sha256:ab","Name":"/web","RestartCount":2,"ExecIDs":null,"Driver":"overlay2",
             "HostConfig":{"Memory":67108864,"NetworkMode":"none"},"Config":{"Image":"busybox","Cmd":["sh"]},
             "GraphDriver":{"Name":"overlay2","Data":{"UpperDir":"/u","MergedDir":"/m","WorkDir":"/w"}},
             "Mounts":[{"Type":"bind","Source":"/src","Destination":"/dst","Mode":"","RW":true,"Propagation":"rprivate"}],
             "NetworkSettings":{"Bridge":"","Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],"53/udp":null},
                                "SecondaryIPAddresses":null,"Networks":{"none":{"IPAMConfig":null,"NetworkID":"n1","IPAddress":""}}},
             "AppArmorProfile":"","SizeRw":12}
            """#)
        let inspect = ContainerInspectResponse(json: body)
        #expect(inspect.json == body)
        #expect(inspect.unknownFields.isEmpty && inspect.state?.unknownFields.isEmpty == true)
        #expect(inspect.state?.pid == 4242 && inspect.state?.health?.status == "healthy" && inspect.state?.health?.log?.first?.output == "ok\n")
        #expect(inspect.nullFields == ["ExecIDs"] && inspect.restartCount == 2 && inspect.sizeRw == 12)
        #expect(inspect.hostConfig?.memory == 64 << 20 && inspect.config?.cmd == ["sh"])
        #expect(inspect.graphDriver?.data?["UpperDir"] == "/u" && inspect.mounts?.first?.rw == true)
        let network = try #require(inspect.networkSettings)
        #expect(network.ports?["80/tcp"]??.first?.hostPort == "8080" && network.ports?["53/udp"] == .some(nil))
        #expect(network.networks?["none"]?.networkID == "n1" && network.networks?["none"]?.nullFields == ["IPAMConfig"])
    }

    @Test("summaries and image bodies read typed; fields outside the spec stay as sent")
    func summaries() throws {
        let container = try Self.parse(#"{"Id":"c1","Names":["/a"],"Created":1700000000,"Ports":[{"PrivatePort":80,"Type":"tcp"}],"Labels":{"k":"v"},"State":"exited","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{"NetworkID":""}}}}"#)
        let summary = ContainerSummary(json: container)
        #expect(summary.json == container)
        #expect(summary.ports?.first?.privatePort == 80 && summary.labels == ["k": "v"] && summary.hostConfig?.networkMode == "none")
        let image = try Self.parse(#"{"Id":"sha256:ab","RepoTags":["busybox:latest"],"Size":900,"SharedSize":-1,"Containers":-1,"VirtualSize":900}"#)
        let listed = ImageSummary(json: image)
        #expect(listed.json == image && listed.size == 900 && listed.unknownFields == ["VirtualSize": .int(900)])
        let inspect = ImageInspect(json: try Self.parse(#"{"Id":"sha256:ab","RootFS":{"Type":"layers","Layers":["sha256:1"]},"Metadata":{"LastTagTime":"0001-01-01T00:00:00Z"},"GraphDriver":{"Name":"overlay2","Data":null}}"#))
        #expect(inspect.rootFS?.layers == ["sha256:1"] && inspect.graphDriver?.nullFields == ["Data"])
    }

    @Test("an event keeps the legacy fields older clients read")
    func event() throws {
        let body = try Self.parse(#"{"Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"exitCode":"0","name":"a"}},"scope":"local","time":1700000000,"timeNano":1700000000000000001,"status":"die","id":"c1","from":"busybox"}"#)
        let event = EventMessage(json: body)
        #expect(event.json == body)
        #expect(event.actor?.attributes?["exitCode"] == "0" && event.timeNano == 1_700_000_000_000_000_001)
        #expect(Set(event.unknownFields.keys) == ["status", "id", "from"])
    }
}
