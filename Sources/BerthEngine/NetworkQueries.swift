import BerthAPITypes
import BerthNetwork
import Foundation

/// `/networks` as the API serves it: lists with dockerd's filters, create, remove and prune
/// with their events.
extension NetworkService {
    /// `GET /networks`: `name` (substring), `id` (prefix), `driver`, `label`, `type`
    /// (`custom` or `builtin`), `scope`; anything else is refused as dockerd refuses it.
    public func list(filters: [String: [String]]) throws -> [Network] {
        var selected = all()
        for (key, values) in filters where !values.isEmpty {
            switch key {
            case "name": selected = selected.filter { network in values.contains { network.name.contains($0) } }
            case "id": selected = selected.filter { network in values.contains { network.id.hasPrefix($0) } }
            case "driver": selected = selected.filter { values.contains($0.driver) }
            case "label": selected = selected.filter { LabelFilter.matchAll(values, $0.labels) }
            case "scope": selected = selected.filter { _ in values.contains("local") }
            case "type":
                for value in values where !["custom", "builtin"].contains(value) {
                    throw EngineError(.badRequest, "invalid filter: 'type'='\(value)'")
                }
                selected = selected.filter { values.contains($0.predefined ? "builtin" : "custom") }
            case "dangling":
                let dangling = values.contains("true") || values.contains("1")
                selected = selected.filter { !$0.predefined && (attachedCount($0.id) == 0) == dangling }
            default:
                throw EngineError(.badRequest, "invalid filter '\(key)'")
            }
        }
        return selected.map(model)
    }

    public func inspect(_ reference: String) throws -> Network { model(try resolve(reference)) }

    public func create(_ request: NetworkCreateRequest) async throws -> String {
        let definition = try await createNetwork(request)
        await events.publish("network", "create", id: definition.id, attributes: ["name": definition.name, "type": definition.driver])
        return definition.id
    }

    public func remove(_ reference: String) async throws {
        let definition = try await removeNetwork(reference)
        await events.publish("network", "destroy", id: definition.id, attributes: ["name": definition.name, "type": definition.driver])
    }

    public func prune(_ filter: PruneFilter) async throws -> [String] {
        var removed: [String] = []
        for definition in all() where !definition.predefined && attachedCount(definition.id) == 0 {
            guard filter.selects(labels: definition.labels, created: Date.parseTimestamp(definition.created)) else { continue }
            try await remove(definition.id)
            removed.append(definition.name)
        }
        return removed
    }
}
