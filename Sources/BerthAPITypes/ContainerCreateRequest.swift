/// The body of `POST /containers/create`: a `ContainerConfig` with the container's
/// `HostConfig` and `NetworkingConfig` beside its fields, as the API nests them.
public struct ContainerCreateRequest: Sendable, Equatable {
    public var config: ContainerConfig
    public var hostConfig: HostConfig?
    public var networkingConfig: NetworkingConfig?

    public init(config: ContainerConfig = ContainerConfig(), hostConfig: HostConfig? = nil, networkingConfig: NetworkingConfig? = nil) {
        self.config = config
        self.hostConfig = hostConfig
        self.networkingConfig = networkingConfig
    }

    /// The request of a JSON object; a `HostConfig` or `NetworkingConfig` that is not an object
    /// stays among the config's unknown fields (the validator refuses it by name).
    public init(json: JSONValue) {
        config = ContainerConfig(json: json)
        if let host = config.unknownFields["HostConfig"], host.object != nil {
            hostConfig = HostConfig(json: host)
            config.unknownFields["HostConfig"] = nil
        }
        if let networking = config.unknownFields["NetworkingConfig"], networking.object != nil {
            networkingConfig = NetworkingConfig(json: networking)
            config.unknownFields["NetworkingConfig"] = nil
        }
    }

    public var json: JSONValue {
        var object = config.json
        if let hostConfig { object["HostConfig"] = hostConfig.json }
        if let networkingConfig { object["NetworkingConfig"] = networkingConfig.json }
        return object
    }
}
