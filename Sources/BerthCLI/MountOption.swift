import ArgumentParser
import BerthAPITypes

/// docker's `--mount type=bind|volume|tmpfs,src=…,dst=…,…` as the API's `Mount` object.
enum MountOption {
    /// A bad field is refused as docker refuses it: `invalid argument "…" for "--mount" flag: …`, exit 125.
    static func parse(_ text: String) throws -> JSONValue {
        do { return try parseFields(text) } catch let error as ValidationError {
            throw CLIError.usage("invalid argument \"\(text)\" for \"--mount\" flag: \(error.message)")
        }
    }

    private static func parseFields(_ text: String) throws -> JSONValue {
        var mount: [String: JSONValue] = ["Type": .string("volume")]
        var volumeOptions: [String: JSONValue] = [:], bindOptions: [String: JSONValue] = [:], tmpfsOptions: [String: JSONValue] = [:]
        var labels: [String: JSONValue] = [:], driverOptions: [String: JSONValue] = [:], imageOptions: [String: JSONValue] = [:]
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
            case "volume-opt":
                let option = try required().split(separator: "=", maxSplits: 1).map(String.init)
                guard option.count == 2 else { throw ValidationError("invalid value for \(key): \(option[0])") }
                driverOptions[option[0]] = .string(option[1])
            case "image-subpath": imageOptions["Subpath"] = .string(try required())
            case "bind-create-src": bindOptions["CreateMountpoint"] = .bool(try bool())
            case "bind-recursive":
                switch try required() {
                case "enabled": break
                case "disabled": bindOptions["NonRecursive"] = .bool(true)
                case "writable": bindOptions["ReadOnlyNonRecursive"] = .bool(true)
                case "readonly": bindOptions["ReadOnlyForceRecursive"] = .bool(true)
                default: throw ValidationError("invalid value for \(key): \(value ?? "") (enabled, disabled, writable or readonly)")
                }
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
        if !driverOptions.isEmpty {
            var driver = volumeOptions["DriverConfig"]?.object ?? [:]
            driver["Options"] = .object(driverOptions)
            volumeOptions["DriverConfig"] = .object(driver)
        }
        if !imageOptions.isEmpty { mount["ImageOptions"] = .object(imageOptions) }
        if !volumeOptions.isEmpty { mount["VolumeOptions"] = .object(volumeOptions) }
        if !bindOptions.isEmpty { mount["BindOptions"] = .object(bindOptions) }
        if !tmpfsOptions.isEmpty { mount["TmpfsOptions"] = .object(tmpfsOptions) }
        return .object(mount)
    }
}
