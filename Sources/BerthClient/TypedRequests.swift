import BerthAPITypes

/// The Engine API's queries with typed answers: what the CLI (and compose) read of containers,
/// images and events, without literal keys at each call site.
extension EngineClient {
    /// `GET /containers/json`.
    public func listContainers(query: [(String, String)] = []) throws -> [ContainerSummary] {
        (try request("GET", "/containers/json", query: query).json.array ?? []).map(ContainerSummary.init(json:))
    }

    /// `GET /containers/{id}/json`.
    public func inspectContainer(_ reference: String) throws -> ContainerInspectResponse {
        ContainerInspectResponse(json: try request("GET", "/containers/\(Self.escape(reference))/json").json)
    }

    /// `GET /images/json`.
    public func listImages(query: [(String, String)] = []) throws -> [ImageSummary] {
        (try request("GET", "/images/json", query: query).json.array ?? []).map(ImageSummary.init(json:))
    }
}
