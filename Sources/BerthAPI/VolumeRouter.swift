import BerthEngine

/// `/volumes` over a `VolumeBackend`.
struct VolumeRouter: Sendable {
    let volumes: any VolumeBackend

    var routes: [Route] {
        let volumes = self.volumes
        return [
            Route("GET", "/volumes") { request, _ in .json(200, try await volumes.listVolumes(filters: try request.filters())) },
            Route("POST", "/volumes/create") { request, _ in
                let body = try request.json()
                guard body.object != nil else { throw EngineError(.badRequest, "the volume create body must be a JSON object") }
                for (field, value) in ["Name": body["Name"], "Driver": body["Driver"]] where value.map({ !$0.isNull && $0.string == nil }) ?? false {
                    throw EngineError(.badRequest, "VolumeCreateOptions.\(field) must be a string")
                }
                if let spec = body["ClusterVolumeSpec"], !spec.isNull {
                    throw EngineError(.badRequest, "cluster volumes are not supported by Berth (VolumeCreateOptions.ClusterVolumeSpec)")
                }
                let volume = try await volumes.createVolume(name: body["Name"]?.string, driver: body["Driver"]?.string,
                                                            options: try Self.stringMap(body["DriverOpts"], "DriverOpts"),
                                                            labels: try Self.stringMap(body["Labels"], "Labels"))
                return .json(201, volume)
            },
            Route("POST", "/volumes/prune") { request, _ in .json(200, try await volumes.pruneVolumes(filters: try request.filters())) },
            Route("GET", "/volumes/{name}") { _, path in .json(200, try await volumes.inspectVolume(path["name"])) },
            Route("PUT", "/volumes/{name}") { _, _ in
                throw EngineError(.badRequest, "volume updates are for cluster volumes, which Berth does not have")
            },
            Route("DELETE", "/volumes/{name}") { request, path in
                try await volumes.removeVolume(path["name"], force: request.flag("force"))
                return .empty(204)
            },
        ]
    }

    /// A `{string: string}` field (labels, driver options); absent or null is empty.
    private static func stringMap(_ value: JSONValue?, _ field: String) throws -> [String: String] {
        guard let value, !value.isNull else { return [:] }
        guard let object = value.object else { throw EngineError(.badRequest, "VolumeCreateOptions.\(field) must be an object of strings") }
        return try object.mapValues { item in
            guard let text = item.string else { throw EngineError(.badRequest, "VolumeCreateOptions.\(field) must be an object of strings") }
            return text
        }
    }
}
