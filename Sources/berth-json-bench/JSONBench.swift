import BerthAPITypes
import Foundation

/// Times, per container-create body, today's JSON parser alone and with the typed models on
/// top (decode into `ContainerCreateRequest`, encode back): `benchmarks/api-models.sh`.
@main
struct JSONBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, let data = FileManager.default.contents(atPath: arguments[1]) else {
            FileHandle.standardError.write(Data("usage: berth-json-bench BODY.json [ITERATIONS]\n".utf8))
            exit(2)
        }
        let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000
        let bytes = Array(data)
        func time(_ label: String, _ body: () throws -> Void) rethrows -> Double {
            for _ in 0..<(iterations / 10) { try body() }
            let start = ContinuousClock.now
            for _ in 0..<iterations { try body() }
            let elapsed = ContinuousClock.now - start
            let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
            let each = micros / Double(iterations)
            print(label.padding(toLength: 46, withPad: " ", startingAt: 0) + String(format: "%8.2f µs", each))
            return each
        }
        var sink = 0
        let parse = try time("parse (JSONValue)") { sink &+= try JSONValue(parsing: bytes).object?.count ?? 0 }
        let typed = try time("parse + decode into ContainerCreateRequest") {
            let request = ContainerCreateRequest(json: try JSONValue(parsing: bytes))
            sink &+= request.hostConfig?.binds?.count ?? 0
        }
        let value = try JSONValue(parsing: bytes)
        let request = ContainerCreateRequest(json: value)
        let encodeTyped = time("encode ContainerCreateRequest → JSONValue") { sink &+= request.json.object?.count ?? 0 }
        let serialize = time("JSONValue → bytes") { sink &+= value.bytes.count }
        print(String(format: "typed decode adds %.0f%% to a parse; encoding the model adds %.0f%% to serializing", (typed / parse - 1) * 100,
                     encodeTyped / serialize * 100))
        if sink == 42 { print("") }
    }
}
