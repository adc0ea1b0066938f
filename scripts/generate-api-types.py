#!/usr/bin/env python3
"""Generates the typed Engine API models of Sources/BerthAPITypes/Models from the Engine API
swagger (../shared/specs/engine-api/v1.50.yaml): one Swift file per model, every field of the
spec, each mapped from and to `JSONValue` by hand-written-style code (no Codable: Berth's own
parser is the fast path). Fields a model does not know, and values of the wrong type, are kept
in `unknownFields`; known fields sent as `null` are remembered, so a body round-trips.

    scripts/generate-api-types.py [SPEC]
"""
import os
import re
import sys
import textwrap

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "specs", "engine-api", "v1.50.yaml")
OUT = os.path.join(ROOT, "Sources", "BerthAPITypes", "Models")

# Models generated from definitions (HostConfig carries Resources' fields, as Go embeds them).
DEFINITIONS = ["ContainerConfig", "HostConfig", "Resources", "HealthConfig", "RestartPolicy", "Mount", "PortBinding",
               "DeviceMapping", "DeviceRequest", "ThrottleDevice", "NetworkingConfig", "EndpointSettings",
               "EndpointIPAMConfig",
               # What the API answers: summaries, inspect bodies, events.
               "ContainerSummary", "ContainerInspectResponse", "ContainerState", "Health", "HealthcheckResult",
               "NetworkSettings", "MountPoint", "Port", "DriverData", "EventMessage", "EventActor", "ImageSummary",
               "ImageInspect", "ImageDeleteResponseItem", "ContainerCreateResponse", "ContainerWaitResponse",
               "ContainerTopResponse",
               # Networks.
               "Network", "IPAM", "IPAMConfig", "NetworkContainer", "NetworkCreateResponse", "NetworkCreateRequest"]
# Definitions kept as plain JSON where a model refers to them (not served by Berth in detail, or,
# for the image's config, already modelled by BerthImages' OCI types).
OPAQUE = {"OCIDescriptor", "ImageManifestSummary", "Address", "ContainerWaitExitError", "ImageConfig", "ConfigReference", "PeerInfo"}
# Objects the spec defines inline, given a name: (model, field) -> type name.
INLINE = {
    ("HostConfig", "LogConfig"): "LogConfig",
    ("Resources", "Ulimits"): "Ulimit",
    ("Resources", "BlkioWeightDevice"): "WeightDevice",
    ("HostConfig", "Ulimits"): "Ulimit",
    ("HostConfig", "BlkioWeightDevice"): "WeightDevice",
    ("Mount", "BindOptions"): "MountBindOptions",
    ("Mount", "VolumeOptions"): "MountVolumeOptions",
    ("Mount", "ImageOptions"): "MountImageOptions",
    ("Mount", "TmpfsOptions"): "MountTmpfsOptions",
    ("MountVolumeOptions", "DriverConfig"): "MountVolumeDriverConfig",
    ("ContainerSummary", "HostConfig"): "ContainerSummaryHostConfig",
    ("ContainerSummary", "NetworkSettings"): "ContainerSummaryNetworkSettings",
    ("ImageInspect", "RootFS"): "ImageInspectRootFS",
    ("ImageInspect", "Metadata"): "ImageInspectMetadata",
}
# Go's StrSlice: a string or an array of strings.
STRING_SLICES = {("ContainerConfig", "Cmd"), ("ContainerConfig", "Entrypoint"), ("HealthConfig", "Test")}
DEFINITIONS_SPEC = {}
KEYWORDS = {"init", "default", "private", "public", "internal", "protocol", "extension", "class", "struct", "func", "var",
            "let", "in", "is", "as", "self", "Self", "operator", "repeat", "return", "where", "while", "for", "switch",
            "case", "enum", "import", "static", "subscript", "type"}


def swift_name(go):
    """`CpuShares` -> `cpuShares`, `IOMaximumIOps` -> `ioMaximumIOps`, `UTSMode` -> `utsMode`,
    `IPv4Address` -> `ipv4Address`, `IPAMConfig` -> `ipamConfig`."""
    if go.startswith("IPv"):
        return "ipv" + go[3:]
    match = re.match(r"^([A-Z]+)(?=[A-Z][a-z]|$|[0-9])", go)
    if match and len(match.group(1)) > 1:
        head = match.group(1)
        name = head.lower() + go[len(head):]
    else:
        name = go[0].lower() + go[1:]
    return f"`{name}`" if name in KEYWORDS else name


def first_sentence(text):
    text = " ".join((text or "").split())
    if not text:
        return ""
    end = text.find(". ")
    return (text if end < 0 else text[:end + 1]).replace("`", "`")


class Field:
    def __init__(self, go, kind, swift_type, element=None):
        self.go, self.kind, self.swift_type, self.element = go, kind, swift_type, element
        self.name = swift_name(go)
        self.doc = ""


def properties(definitions, name):
    schema = definitions[name]
    props = {}
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            props.update(properties(definitions, part["$ref"].split("/")[-1]))
        props.update(part.get("properties", {}))
    return props


def field_for(model, go, schema, pending):
    """The Swift type and JSON mapping of one property."""
    if (model, go) in STRING_SLICES:
        return Field(go, "strslice", "[String]")
    if "allOf" in schema and len(schema["allOf"]) == 1 and "$ref" in schema["allOf"][0]:
        target = DEFINITIONS_SPEC[schema["allOf"][0]["$ref"].split("/")[-1]]
        if target.get("type") == "string":
            return Field(go, "string", "String")
        schema = schema["allOf"][0]
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        if ref == "PortMap":
            return Field(go, "portmap", "[String: [PortBinding]?]")
        if ref in OPAQUE:
            return Field(go, "json", "JSONValue")
        return Field(go, "model", ref)
    kind = schema.get("type")
    if (model, go) in INLINE:
        inline = INLINE[(model, go)]
        if kind == "array":
            pending.append((inline, schema["items"]))
            return Field(go, "models", f"[{inline}]", inline)
        pending.append((inline, schema))
        return Field(go, "model", inline)
    if kind == "string" or (kind is None and "enum" in schema):
        return Field(go, "string", "String")
    if kind == "integer":
        return Field(go, "int", "Int64")
    if kind == "boolean":
        return Field(go, "bool", "Bool")
    if kind == "number":
        return Field(go, "double", "Double")
    if kind == "array":
        items = schema.get("items", {})
        if "$ref" in items:
            ref = items["$ref"].split("/")[-1]
            if ref in OPAQUE:
                return Field(go, "json", "JSONValue")
            return Field(go, "models", f"[{ref}]", ref)
        if items.get("type") == "string":
            return Field(go, "strings", "[String]")
        if items.get("type") == "integer":
            return Field(go, "ints", "[Int64]")
        return Field(go, "json", "JSONValue")
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type") == "string":
            return Field(go, "stringmap", "[String: String]")
        if isinstance(extra, dict) and "$ref" in extra:
            ref = extra["$ref"].split("/")[-1]
            return Field(go, "modelmap", f"[String: {ref}]", ref)
        if isinstance(extra, dict) and extra.get("type") == "object" and not extra.get("properties"):
            return Field(go, "keyset", "[String]")
        if model == "NetworkingConfig" and go == "EndpointsConfig":
            return Field(go, "modelmap", "[String: EndpointSettings]", "EndpointSettings")
        return Field(go, "json", "JSONValue")
    return Field(go, "json", "JSONValue")


DECODE = {
    "string": "value.string", "int": "value.int", "bool": "value.bool", "double": "value.double",
    "strings": "value.stringArray", "strslice": "value.stringSlice", "ints": "value.intArray",
    "stringmap": "value.stringMap", "keyset": "value.keySet", "json": "value",
}
ENCODE = {
    "string": ".string({v})", "int": ".int({v})", "bool": ".bool({v})", "double": ".double({v})",
    "strings": ".array({v}.map(JSONValue.string))", "strslice": ".array({v}.map(JSONValue.string))",
    "ints": ".array({v}.map(JSONValue.int))",
    "stringmap": ".object({v}.mapValues(JSONValue.string))",
    "keyset": ".object(Dictionary(uniqueKeysWithValues: {v}.map {{ ($0, JSONValue.object([:])) }}))",
    "json": "{v}", "model": "{v}.json", "models": ".array({v}.map(\\.json))",
    "modelmap": ".object({v}.mapValues(\\.json))",
    "portmap": ".object({v}.mapValues {{ $0.map {{ .array($0.map(\\.json)) }} ?? .null }})",
}


def decode_expression(field):
    if field.kind == "model":
        return f"value.object == nil ? nil : {field.swift_type}(json: value)"
    if field.kind == "models":
        return f"value.array.flatMap {{ items in items.allSatisfy {{ $0.object != nil }} ? items.map({field.element}.init(json:)) : nil }}"
    if field.kind == "modelmap":
        return (f"value.object.flatMap {{ entries in entries.values.allSatisfy {{ $0.object != nil }} "
                f"? entries.mapValues({field.element}.init(json:)) : nil }}")
    if field.kind == "portmap":
        return "value.portMap"
    return DECODE[field.kind]


def render(name, description, fields):
    lines = [
        "// Generated by scripts/generate-api-types.py from the Engine API v1.50 spec: do not edit.",
        "",
        f"/// {first_sentence(description) or name + '.'}",
        f"public struct {name}: Sendable, Equatable {{",
    ]
    for field in fields:
        if field.doc:
            for doc_line in textwrap.wrap(field.doc, 100):
                lines.append(f"    /// {doc_line}")
        lines.append(f"    public var {field.name}: {field.swift_type}?")
    lines += [
        "    /// Fields this model does not know, and known fields whose value has another type than",
        "    /// the spec's: kept as sent, never dropped.",
        "    public var unknownFields: [String: JSONValue] = [:]",
        "    /// Known fields the client sent as `null`.",
        "    public var nullFields: Set<String> = []",
        "",
        "    /// Known fields whose value has another type than the spec's (kept in `unknownFields`).",
        "    public var mistypedFields: [String] { unknownFields.keys.filter(Self.fieldNames.contains).sorted() }",
        "",
        "    /// Every field of the spec, as the API spells it.",
        "    public static let fieldNames: Set<String> = [" + ", ".join(f'"{f.go}"' for f in fields) + "]",
        "",
        "    public init() {}",
        "",
        "    /// The model of a JSON object (anything else gives an empty model).",
        "    public init(json: JSONValue) {",
        "        guard let object = json.object else { return }",
        "        for (key, value) in object {",
        "            if value.isNull, Self.fieldNames.contains(key) {",
        "                nullFields.insert(key)",
        "                continue",
        "            }",
        "            switch key {",
    ]
    for field in fields:
        lines.append(f'            case "{field.go}":')
        if field.kind == "json":
            lines.append(f"                {field.name} = value")
        else:
            lines.append(f"                if let decoded = ({decode_expression(field)}) {{ {field.name} = decoded }} else {{ unknownFields[key] = value }}")
    lines += [
        "            default: unknownFields[key] = value",
        "            }",
        "        }",
        "    }",
        "",
        "    /// The model as the API's JSON: its fields, the nulls and the unknown fields it was sent.",
        "    public var json: JSONValue {",
        "        var object = unknownFields",
        "        for key in nullFields { object[key] = .null }",
    ]
    for field in fields:
        encoded = ENCODE[field.kind].format(v="value")
        lines.append(f'        if let value = {field.name} {{ object["{field.go}"] = {encoded} }}')
    lines += ["        return .object(object)", "    }", "}", "",
              f"/// Stored (a container's record) as the API's JSON, unknown fields and nulls included.",
              f"extension {name}: Codable {{",
              "    public init(from decoder: Decoder) throws { self.init(json: try JSONValue(from: decoder)) }",
              "",
              "    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }",
              "}", ""]
    return "\n".join(lines)


def main():
    global DEFINITIONS_SPEC
    with open(SPEC) as spec_file:
        spec = yaml.safe_load(spec_file)
        definitions = spec["definitions"]
        # Request bodies the spec defines inline in a path, given a name.
        definitions["NetworkCreateRequest"] = dict(spec["paths"]["/networks/create"]["post"]["parameters"][0]["schema"],
                                                   description="The body of `POST /networks/create`.")
    DEFINITIONS_SPEC = definitions
    pending = []
    models = {}
    for name in DEFINITIONS:
        props = properties(definitions, name)
        fields = []
        for go, schema in props.items():
            field = field_for(name, go, schema, pending)
            field.doc = first_sentence(schema.get("description"))
            fields.append(field)
        models[name] = (definitions[name].get("description") or "", fields)
    while pending:
        name, schema = pending.pop()
        if name in models:
            continue
        fields = []
        for go, sub in schema.get("properties", {}).items():
            field = field_for(name, go, sub, pending)
            field.doc = first_sentence(sub.get("description"))
            fields.append(field)
        models[name] = (schema.get("description") or "", fields)
    os.makedirs(OUT, exist_ok=True)
    for name, (description, fields) in sorted(models.items()):
        with open(os.path.join(OUT, name + ".swift"), "w") as out:
            out.write(render(name, description, fields))
    print(f"{len(models)} models in {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
