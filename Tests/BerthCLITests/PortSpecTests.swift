@testable import BerthCLI
import BerthAPITypes
import Testing

/// docker's `-p` syntax and PORTS column, as the docker CLI 28 sends and prints them.
@Suite("port specs")
struct PortSpecTests {
    static func parsed(_ spec: String) throws -> [String] {
        try PortSpec.parse(spec).map { "\($0.key) \($0.hostIP)|\($0.hostPort)" }
    }

    @Test("-p forms: container port, host port, address, IPv6 in brackets, protocols, ranges")
    func publish() throws {
        #expect(try Self.parsed("80") == ["80/tcp |"])
        #expect(try Self.parsed("8080:80") == ["80/tcp |8080"])
        #expect(try Self.parsed("127.0.0.1:8080:80/udp") == ["80/udp 127.0.0.1|8080"])
        #expect(try Self.parsed("127.0.0.1::80") == ["80/tcp 127.0.0.1|"])
        #expect(try Self.parsed("[::1]:8080:80") == ["80/tcp ::1|8080"])
        #expect(try Self.parsed("8080-8081:80-81/sctp") == ["80/sctp |8080", "81/sctp |8081"])
        #expect(try Self.parsed("8000-8010:80") == ["80/tcp |8000-8010"])
        for bad in ["80/bogus", "0", "70000", "8080-8082:80-81", "a:b:c:d", "x:80", "81-80"] {
            #expect(throws: CLIError.self, "\(bad)") { try PortSpec.parse(bad) }
        }
        #expect(try PortSpec.exposed("7000-7001/udp") == ["7000/udp", "7001/udp"])
    }

    @Test("the PORTS column: published and exposed ports, consecutive ones as ranges, sorted")
    func display() {
        func port(_ ip: String?, _ publicPort: Int64?, _ privatePort: Int64, _ type: String = "tcp") -> Port {
            var port = Port()
            port.ip = ip
            port.publicPort = publicPort
            port.privatePort = privatePort
            port.type = type
            return port
        }
        #expect(PortSpec.display([]) == "")
        #expect(PortSpec.display([port("127.0.0.1", 18080, 80)]) == "127.0.0.1:18080->80/tcp")
        #expect(PortSpec.display([port("0.0.0.0", 8081, 81), port("0.0.0.0", 8080, 80), port(nil, nil, 443), port("0.0.0.0", 53, 53, "udp")])
            == "443/tcp, 0.0.0.0:8080-8081->80-81/tcp, 0.0.0.0:53->53/udp")
    }
}
