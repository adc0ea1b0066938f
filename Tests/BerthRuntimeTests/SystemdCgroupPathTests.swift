import BerthRuntime
import Testing

@Suite("systemd cgroup paths")
struct SystemdCgroupPathTests {
    @Test("slice:prefix:name becomes the scope's place in systemd's tree", arguments: [
        ("kubepods-besteffort-pod12.slice:cri-containerd:abc", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope"),
        ("system.slice:docker:0123", "/system.slice/docker-0123.scope"),
        (":berth:xyz", "/system.slice/berth-xyz.scope"),
        ("machine.slice::vm1", "/machine.slice/vm1.scope"),
        ("-.slice:p:n", "/p-n.scope"),
        ("kubepods.slice:cri:kubepods-burstable.slice", "/kubepods.slice/kubepods-burstable.slice"),
    ])
    func conversion(path: String, expected: String) throws {
        #expect(try SystemdCgroupPath(path, id: "ignored").cgroupPath == expected)
    }

    @Test("an empty cgroupsPath takes system.slice and the container id")
    func defaultPath() throws {
        let path = try SystemdCgroupPath(nil, id: "c1")
        #expect(path.slice == "system.slice")
        #expect(path.unit == "berth-c1.scope")
    }

    @Test("malformed systemd paths are refused with the form they must take", arguments: [
        "/berth/c1", "a:b", "a.slice:b:c:d", "notaslice:p:n", "-bad.slice:p:n", "a--b.slice:p:n", "a.slice:p:", "a/b.slice:p:n",
    ])
    func refused(path: String) {
        #expect(throws: RuntimeError.self) { try SystemdCgroupPath(path, id: "x") }
    }
}
