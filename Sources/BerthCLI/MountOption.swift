import ArgumentParser
import BerthAPITypes

/// docker's `--mount type=bind|volume|tmpfs,src=…,dst=…,…` as the API's `Mount` object.
enum MountOption {
    static func parse(_ text: String) throws -> JSONValue {
        var mount: [String: JSONValue] = ["Type": .string("volume")]
        var volumeOptions: [String: JSONValue] = [:], bindOptions: [String: JSONValue] = [:], tmpfsOptions: [String: JSONValue] = [:]
        var labels: [String: JSONValue] = [:]
        for field in text.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased(), value = parts.count > 1 ? parts[1] : nil
            func bool() throws -> Bool {
                guard let value else { return true }
                switch value.lowercased() {
                case "1", "true": return true
                case "0", "false": return false
                default: throw ValidationError("invalid value for \(key): \(value)")
                }
            }
            func required() throws -> String {
                guard let value, !value.isEmpty else { throw ValidationError("invalid field '\(field)' must be a key=value pair") }
                return value
            }
            switch key {
            case "type": mount["Type"] = .string(try required())
            case "source", "src": mount["Source"] = .string(try required())
            case "target", "dst", "destination": mount["Target"] = .string(try required())
            case "readonly", "ro": mount["ReadOnly"] = .bool(try bool())
            case "volume-nocopy": volumeOptions["NoCopy"] = .bool(try bool())
            case "volume-subpath": volumeOptions["Subpath"] = .string(try required())
            case "volume-label":
                let label = try required().split(separator: "=", maxSplits: 1).map(String.init)
                labels[label[0]] = .string(label.count > 1 ? label[1] : "")
            case "volume-driver": volumeOptions["DriverConfig"] = .object(["Name": .string(try required())])
            case "bind-propagation": bindOptions["Propagation"] = .string(try required())
            case "bind-nonrecursive": bindOptions["NonRecursive"] = .bool(try bool())
            case "tmpfs-size":
                guard let bytes = ByteSize.parse(try required()) else { throw ValidationError("invalid tmpfs-size: \(value ?? "")") }
                tmpfsOptions["SizeBytes"] = .int(bytes)
            case "tmpfs-mode":
                guard let mode = Int64(try required(), radix: 8) else { throw ValidationError("invalid tmpfs-mode: \(value ?? "")") }
                tmpfsOptions["Mode"] = .int(mode)
            default: throw ValidationError("unexpected key '\(key)' in '\(field)'")
            }
        }
        if !labels.isEmpty { volumeOptions["Labels"] = .object(labels) }
        if !volumeOptions.isEmpty { mount["VolumeOptions"] = .object(volumeOptions) }
        if !bindOptions.isEmpty { mount["BindOptions"] = .object(bindOptions) }
        if !tmpfsOptions.isEmpty { mount["TmpfsOptions"] = .object(tmpfsOptions) }
        return .object(mount)
    }
}
