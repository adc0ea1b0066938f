import BerthEngine

/// `/networks` over a `NetworkBackend`.
struct NetworkRouter: Sendable {
    let networks: any NetworkBackend

    var routes: [Route] {
        let networks = self.networks
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
            Route("POST", "/networks/{id}/connect") { _, _ in
                throw EngineError(.notImplemented, "connecting a container to a network after its creation is not supported by Berth yet: create it with --network")
            },
            Route("POST", "/networks/{id}/disconnect") { _, _ in
                throw EngineError(.notImplemented, "disconnecting a container from a network is not supported by Berth yet")
            },
        ]
    }
}
