import BerthEngine

/// `/networks` over a `NetworkBackend`; connecting containers over the `ContainerBackend`.
struct NetworkRouter: Sendable {
    let networks: any NetworkBackend
    let containers: any ContainerBackend

    var routes: [Route] {
        let networks = self.networks, containers = self.containers
        return [
            Route("GET", "/networks") { request, _ in
                .json(200, .array(try await networks.list(filters: try request.filters()).map(\.json)))
            },
            Route("POST", "/networks/create") { request, _ in
                let body = try request.json()
                guard body.object != nil else { throw EngineError(.badRequest, "the network create body must be a JSON object") }
                var response = NetworkCreateResponse()
                response.id = try await networks.create(NetworkCreateRequest(json: body))
                response.warning = ""
                return .json(201, response.json)
            },
            Route("POST", "/networks/prune") { request, _ in
                let names = try await networks.prune(try PruneFilter(try request.filters(), accepting: ["until", "label", "label!"]))
                return .json(200, .object(["NetworksDeleted": names.isEmpty ? .null : .array(names.map(JSONValue.string))]))
            },
            Route("GET", "/networks/{id}") { _, path in .json(200, try await networks.inspect(path["id"]).json) },
            Route("DELETE", "/networks/{id}") { _, path in
                try await networks.remove(path["id"])
                return .empty(204)
            },
            Route("POST", "/networks/{id}/connect") { request, path in
                let body = try request.json()
                let container = try Self.container(body, "NetworkConnectRequest")
                let settings = body["EndpointConfig"].flatMap { $0.isNull ? nil : $0 }
                if let settings, settings.object == nil { throw EngineError(.badRequest, "EndpointConfig must be a JSON object") }
                let endpoint = settings.map { EndpointSettings(json: $0) }
                try await containers.connect(network: path["id"], container: container, settings: endpoint)
                return .empty(200)
            },
            Route("POST", "/networks/{id}/disconnect") { request, path in
                let body = try request.json()
                let container = try Self.container(body, "NetworkDisconnectRequest")
                if let force = body["Force"], !force.isNull, force.bool == nil { throw EngineError(.badRequest, "Force must be a boolean") }
                try await containers.disconnect(network: path["id"], container: container, force: body["Force"]?.bool ?? false)
                return .empty(200)
            },
        ]
    }

    /// The body's `Container`: a name or ID, required.
    private static func container(_ body: JSONValue, _ model: String) throws -> String {
        guard body.object != nil else { throw EngineError(.badRequest, "the \(model) body must be a JSON object") }
        guard let container = body["Container"]?.string, !container.isEmpty else {
            throw EngineError(.badRequest, "\(model).Container: a container name or ID is required")
        }
        return container
    }
}
