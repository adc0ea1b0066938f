@testable import BerthEngine
import Testing

@Suite("/etc/hosts and /etc/resolv.conf")
struct EtcFilesTests {
    @Test("--add-host lines, IPv6 included; malformed and host-gateway entries refused")
    func hosts() throws {
        let text = try EtcFiles.hosts("127.0.0.1\tlocalhost", extraHosts: ["db:10.0.0.2", "v6:::1", "eq=192.0.2.1"])
        #expect(text == "127.0.0.1\tlocalhost\n10.0.0.2\tdb\n::1\tv6\n192.0.2.1\teq\n")
        #expect(throws: EngineError.self) { try EtcFiles.hosts("", extraHosts: ["nocolon"]) }
        #expect(throws: EngineError.self) { try EtcFiles.hosts("", extraHosts: ["gw:host-gateway"]) }
        #expect(try EtcFiles.hosts("", extraHosts: ["host.docker.internal:host-gateway"], hostGateway: "172.17.0.1") == "172.17.0.1\thost.docker.internal\n")
    }

    @Test("--dns, --dns-search and --dns-option replace only their own lines")
    func resolvConf() {
        let host = "# generated\nnameserver 10.0.0.1\nsearch corp.example\noptions edns0\n"
        #expect(EtcFiles.resolvConf(host, dns: [], search: [], options: []) == host)
        #expect(EtcFiles.resolvConf(host, dns: ["192.0.2.53", "192.0.2.54"], search: [], options: [])
            == "# generated\nsearch corp.example\noptions edns0\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n")
        #expect(EtcFiles.resolvConf(host, dns: [], search: ["a.example", "b.example"], options: ["ndots:2"])
            == "# generated\nnameserver 10.0.0.1\nsearch a.example b.example\noptions ndots:2\n")
        #expect(EtcFiles.resolvConf(host, dns: [], search: ["."], options: []) == "# generated\nnameserver 10.0.0.1\noptions edns0\n")
    }
}
