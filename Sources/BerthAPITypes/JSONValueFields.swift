/// Strict readers of JSON values for the typed models: each answers nil unless the whole value
/// has the shape asked for, so a model keeps what it cannot read instead of dropping part of it.
extension JSONValue {
    /// A number, integral or not.
    public var double: Double? {
        switch self {
        case let .int(value): return Double(value)
        case let .double(value): return value
        default: return nil
        }
    }

    /// An array of strings, every element one.
    public var stringArray: [String]? {
        guard let values = array else { return nil }
        let strings = values.compactMap(\.string)
        return strings.count == values.count ? strings : nil
    }

    /// Go's StrSlice (`Cmd`, `Entrypoint`): a string or an array of strings.
    public var stringSlice: [String]? {
        if let string { return [string] }
        return stringArray
    }

    /// An array of integers, every element one.
    public var intArray: [Int64]? {
        guard let values = array else { return nil }
        let numbers = values.compactMap(\.int)
        return numbers.count == values.count ? numbers : nil
    }

    /// An object of strings (labels, options), every value one.
    public var stringMap: [String: String]? {
        guard let entries = object else { return nil }
        let strings = entries.compactMapValues(\.string)
        return strings.count == entries.count ? strings : nil
    }

    /// The keys of an object whose values are all empty objects (`ExposedPorts`, `Volumes`), sorted.
    public var keySet: [String]? {
        guard let entries = object, entries.values.allSatisfy({ $0.object?.isEmpty == true }) else { return nil }
        return entries.keys.sorted()
    }

    /// A `PortMap`: each `port/protocol` to its bindings, or to null.
    public var portMap: [String: [PortBinding]?]? {
        guard let entries = object else { return nil }
        var ports: [String: [PortBinding]?] = [:]
        for (port, bindings) in entries {
            if bindings.isNull {
                ports[port] = .some(nil)
                continue
            }
            guard let list = bindings.array, list.allSatisfy({ $0.object != nil }) else { return nil }
            ports[port] = list.map(PortBinding.init(json:))
        }
        return ports
    }
}
