@testable import BerthAPI
import BerthEngine
import BerthImages
import BerthRegistry
import NIOHTTP1
import Testing

/// The routers over fake backends: each endpoint reaches the backend with the arguments its
/// query and path carry, and answers with dockerd's statuses and bodies; every error kind maps
/// to its status in one place.
@Suite("Engine API routers over fake backends")
struct RouterTests {
    static let host = HostDescription(kernelVersion: "6.1.0-test", goArchitecture: "amd64", machine: "x86_64", operatingSystem: "Test OS",
                                      cgroupVersion: "1", memoryBytes: 1 << 30, cpus: 3, hostname: "testhost", engineID: "test-engine")

    static func router(containers: FakeContainers = FakeContainers(), images: FakeImages = FakeImages(),
                       networks: FakeNetworks = FakeNetworks(), volumes: FakeVolumes = FakeVolumes()) -> Router {
        Router(containers: containers, images: images, networks: networks, volumes: volumes, events: EventBus(),
               config: DaemonConfig(binaryDirectory: "/nonexistent"), describeHost: { host })
    }

    static func send(_ router: Router, _ method: HTTPMethod, _ uri: String, body: String = "") async -> APIResponse {
        await router.handle(Router.makeRequest(head: HTTPRequestHead(version: .http1_1, method: method, uri: uri), body: Array(body.utf8)))
    }

    /// Status and JSON body of a whole answer.
    static func answer(_ response: APIResponse) -> (Int, JSONValue?) {
        switch response {
        case let .json(status, value): return (status, value)
        case let .empty(status), let .headers(status, _): return (status, nil)
        case let .bytes(status, _, bytes, _): return (status, try? JSONValue(parsing: bytes))
        case .stream, .download: return (200, nil)
        case .hijack: return (101, nil)
        }
    }

    @Test("patterns: one segment per parameter; a rest parameter takes the slashes of image names")
    func patterns() {
        let image = RoutePattern("/images/{name*}/json")
        #expect(image.match("/images/127.0.0.1:5000/team/app:1/json".split(separator: "/"))?["name"] == "127.0.0.1:5000/team/app:1")
        #expect(image.match("/images/json".split(separator: "/")) == nil)
        #expect(RoutePattern("/images/{name*}").match("/images/a/b".split(separator: "/"))?["name"] == "a/b")
        let container = RoutePattern("/containers/{id}/start")
        #expect(container.match("/containers/web/start".split(separator: "/"))?["id"] == "web")
        #expect(container.match("/containers/web/stop".split(separator: "/")) == nil)
        #expect(container.match("/containers/a/b/start".split(separator: "/")) == nil)
    }

    @Test("container routes pass the path and query to the backend and answer dockerd's statuses")
    func containerRoutes() async {
        let containers = FakeContainers()
        let router = Self.router(containers: containers)
        #expect(Self.answer(await Self.send(router, .POST, "/v1.43/containers/web/stop?t=5&signal=SIGINT")).0 == 204)
        let created = Self.answer(await Self.send(router, .POST, "/containers/create?name=web", body: #"{"Image":"busybox"}"#))
        #expect(created.0 == 201 && created.1?["Id"]?.string == "c0ffee" && created.1?["Warnings"]?.array?.isEmpty == true)
        #expect(Self.answer(await Self.send(router, .DELETE, "/containers/web?force=1")).0 == 204)
        #expect(Self.answer(await Self.send(router, .POST, "/containers/web/resize?h=40&w=120")).0 == 200)
        #expect(Self.answer(await Self.send(router, .GET, "/containers/web/logs?stdout=1&tail=5")).0 == 200)
        #expect(containers.log.all == ["stop web t=5 signal=SIGINT", "create web image=busybox", "remove web force=true",
                                       "resize web 40x120", "logs web tail=5"])
        // Refused before the backend is asked.
        let noStream = Self.answer(await Self.send(router, .GET, "/containers/web/logs"))
        #expect(noStream.0 == 400 && noStream.1?["message"]?.string == "Bad parameters: you must choose at least one stream")
        #expect(Self.answer(await Self.send(router, .POST, "/containers/web/resize?h=-1&w=80")).0 == 400)
        #expect(Self.answer(await Self.send(router, .POST, "/containers/web/rename")).0 == 400)
        #expect(containers.log.all.count == 5)
    }

    @Test("an upload route reads its body through the backend")
    func upload() async {
        let containers = FakeContainers(), images = FakeImages()
        let router = Self.router(containers: containers, images: images)
        #expect(Self.answer(await Self.send(router, .PUT, "/containers/web/archive?path=/tmp", body: "0123456789")).0 == 200)
        #expect(containers.log.all == ["extract web /tmp 10 bytes"])
        let loaded = Self.answer(await Self.send(router, .POST, "/images/load?quiet=1", body: "abc"))
        #expect(loaded.0 == 200 && loaded.1?["stream"]?.string == "Loaded image: web:1\n")
        #expect(images.log.all == ["load 3 bytes"])
    }

    @Test("errors map to statuses in one place: engine kinds, missing images, registry refusals")
    func errors() async {
        let missing = Self.router(containers: FakeContainers(failing: EngineError(.notFound, "No such container: web")))
        let notFound = Self.answer(await Self.send(missing, .POST, "/containers/web/start"))
        #expect(notFound.0 == 404 && notFound.1?["message"]?.string == "No such container: web")
        let started = Self.router(containers: FakeContainers(failing: EngineError(.notModified, "already started")))
        #expect(Self.answer(await Self.send(started, .POST, "/containers/web/start")).0 == 304)
        let noImage = Self.router(images: FakeImages(failing: ImageStoreError.imageNotFound("nothere")))
        #expect(Self.answer(await Self.send(noImage, .POST, "/images/nothere/tag?repo=x")).0 == 404)
        let denied = Self.router(images: FakeImages(failing: RegistryError.unauthorized("127.0.0.1:5000/private")))
        let pull = Self.answer(await Self.send(denied, .POST, "/images/create?fromImage=127.0.0.1:5000/private&tag=1"))
        #expect(pull.0 == 401 && pull.1?["message"]?.string?.hasPrefix("pull access denied") == true)
        let fault = Self.answer(await Self.send(Self.router(containers: FakeContainers(failing: Unexpected(call: "boom"))), .POST, "/containers/web/start"))
        #expect(fault.0 == 500 && fault.1?["message"]?.string == "unexpected call: boom")
        #expect((Router.mapped(RegistryError.notFound("x")) as? EngineError)?.cause is RegistryError)
        let tooNew = Self.answer(await Self.send(Self.router(), .GET, "/v1.99/version"))
        #expect(tooNew.0 == 400 && tooNew.1?["message"]?.string?.contains("is too new") == true)
    }

    @Test("image names with a registry and slashes reach the backend whole")
    func imageNames() async {
        let images = FakeImages()
        let router = Self.router(images: images)
        let removed = Self.answer(await Self.send(router, .DELETE, "/images/127.0.0.1:5000/team/app:1?force=1"))
        #expect(removed.0 == 200 && removed.1?.array?.first?["Untagged"]?.string == "127.0.0.1:5000/team/app:1")
        #expect(Self.answer(await Self.send(router, .POST, "/images/127.0.0.1:5000/team/app:1/tag?repo=mine&tag=2")).0 == 201)
        #expect(images.log.all == ["remove 127.0.0.1:5000/team/app:1 force=true", "tag 127.0.0.1:5000/team/app:1 mine 2"])
    }

    @Test("/info and /version say what the backends and the host description say")
    func systemRoutes() async {
        let router = Self.router()
        let info = Self.answer(await Self.send(router, .GET, "/info"))
        #expect(info.0 == 200 && info.1?["ID"]?.string == "test-engine" && info.1?["NCPU"]?.int == 3 && info.1?["Images"]?.int == 0)
        #expect(info.1?["Name"]?.string == "testhost" && info.1?["Driver"]?.string == "overlay2" && info.1?["Architecture"]?.string == "x86_64")
        let version = Self.answer(await Self.send(router, .GET, "/version"))
        #expect(version.0 == 200 && version.1?["KernelVersion"]?.string == "6.1.0-test" && version.1?["ApiVersion"]?.string == Router.apiVersion)
    }

    @Test("network routes: list with filters, create from the typed body, inspect, remove, prune; 403 and 409 pass through")
    func networkRoutes() async {
        let networks = FakeNetworks()
        let router = Self.router(networks: networks)
        let listed = Self.answer(await Self.send(router, .GET, "/networks?filters=%7B%22driver%22%3A%5B%22bridge%22%5D%7D"))
        #expect(listed.0 == 200 && listed.1?.array?.first?["Name"]?.string == "bridge")
        let created = Self.answer(await Self.send(router, .POST, "/v1.45/networks/create", body: #"{"Name":"app","IPAM":{"Config":[{"Subnet":"10.9.0.0/24"}]}}"#))
        #expect(created.0 == 201 && created.1?["Id"]?.string == "feed" && created.1?["Warning"]?.string == "")
        #expect(Self.answer(await Self.send(router, .GET, "/networks/app")).1?["Name"]?.string == "app")
        #expect(Self.answer(await Self.send(router, .DELETE, "/networks/app")).0 == 204)
        #expect(Self.answer(await Self.send(router, .POST, "/networks/prune")).1?["NetworksDeleted"] == .array([.string("old")]))
        #expect(Self.answer(await Self.send(router, .POST, "/networks/create", body: "[1]")).0 == 400)
        #expect(networks.log.all == [#"list ["driver": ["bridge"]]"#, "create app subnet=10.9.0.0/24", "inspect app", "remove app", "prune"])
        let refusing = Self.router(networks: FakeNetworks(failing: EngineError(.forbidden, "bridge is a pre-defined network and cannot be removed")))
        #expect(Self.answer(await Self.send(refusing, .DELETE, "/networks/bridge")).0 == 403)
    }

    @Test("volume routes: create from the body, list, inspect, remove with force, prune; bad bodies are 400")
    func volumeRoutes() async {
        let volumes = FakeVolumes()
        let router = Self.router(volumes: volumes)
        let created = Self.answer(await Self.send(router, .POST, "/v1.50/volumes/create", body: #"{"Name":"data","Labels":{"a":"b"}}"#))
        #expect(created.0 == 201 && created.1?["Name"]?.string == "data")
        #expect(Self.answer(await Self.send(router, .GET, "/volumes")).1?["Volumes"] == .array([]))
        #expect(Self.answer(await Self.send(router, .GET, "/volumes/data")).1?["Name"]?.string == "data")
        #expect(Self.answer(await Self.send(router, .DELETE, "/volumes/data?force=1")).0 == 204)
        #expect(Self.answer(await Self.send(router, .POST, "/volumes/prune")).0 == 200)
        #expect(Self.answer(await Self.send(router, .POST, "/volumes/create", body: #"{"Labels":{"a":1}}"#)).0 == 400)
        #expect(Self.answer(await Self.send(router, .POST, "/volumes/create", body: "[]")).0 == 400)
        #expect(Self.answer(await Self.send(router, .PUT, "/volumes/data", body: "{}")).0 == 400)
        #expect(volumes.log.all == [#"create data labels=[(key: "a", value: "b")]"#, "list [:]", "inspect data", "remove data force=true", "prune"])
    }

    @Test("network connect and disconnect: the container and its endpoint settings reach the engine; a body without Container is 400")
    func networkConnectRoutes() async {
        let containers = FakeContainers()
        let router = Self.router(containers: containers)
        let connected = await Self.send(router, .POST, "/v1.50/networks/app/connect", body: #"{"Container":"web","EndpointConfig":{"Aliases":["api"]}}"#)
        #expect(Self.answer(connected).0 == 200)
        #expect(Self.answer(await Self.send(router, .POST, "/networks/app/disconnect", body: #"{"Container":"web","Force":true}"#)).0 == 200)
        #expect(Self.answer(await Self.send(router, .POST, "/networks/app/connect", body: #"{"EndpointConfig":{}}"#)).0 == 400)
        #expect(Self.answer(await Self.send(router, .POST, "/networks/app/connect", body: #"{"Container":"web","EndpointConfig":[1]}"#)).0 == 400)
        #expect(Self.answer(await Self.send(router, .POST, "/networks/app/disconnect", body: #"{"Container":"web","Force":"yes"}"#)).0 == 400)
        #expect(containers.log.all == [#"connect app web aliases=["api"]"#, "disconnect app web force=true"])
    }

    @Test("paths without a route: 404, Berth's 501 for areas it does not serve yet, dockerd's swarm answers")
    func unrouted() async {
        let router = Self.router()
        #expect(Self.answer(await Self.send(router, .GET, "/nothing")).0 == 404)
        #expect(Self.answer(await Self.send(router, .PUT, "/containers/json")).0 == 404)
        let build = Self.answer(await Self.send(router, .POST, "/build"))
        #expect(build.0 == 501 && build.1?["message"]?.string == "/build is not supported by Berth yet")
        #expect(Self.answer(await Self.send(router, .GET, "/swarm")).0 == 503)
        #expect(Self.answer(await Self.send(router, .GET, "/_ping")).0 == 200)
        #expect(Self.answer(await Self.send(router, .HEAD, "/_ping")).0 == 200)
    }
}
