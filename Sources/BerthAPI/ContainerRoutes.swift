import BerthEngine
import Foundation

extension Router {
    func containers(_ request: APIRequest, _ path: [String]) async throws -> APIResponse {
        let method = request.method
        if path.count == 1 {
            switch (method, path[0]) {
            case ("GET", "json"):
                let list = try await engine.list(all: request.flag("all"), limit: request.int("limit"), size: request.flag("size"),
                                                  filters: try request.filters())
                return .json(200, .array(list))
            case ("POST", "create"):
                let created = try await engine.create(name: request.query["name"], body: try request.json())
                return .json(201, .object(["Id": .string(created.id), "Warnings": .array(created.warnings.map(JSONValue.string))]))
            case ("POST", "prune"):
                return .json(200, try await prune(request))
            case ("DELETE", _):
                try await engine.remove(path[0], force: request.flag("force"))
                return .empty(204)
            default: break
            }
        }
        guard path.count == 2 else { throw Router.unsupported(request) }
        let id = path[0]
        switch (method, path[1]) {
        case ("GET", "json"):
            return .json(200, try await engine.inspect(id, size: request.flag("size")))
        case ("POST", "start"):
            do { try await engine.start(id) } catch let error as EngineError where error.kind == .notModified { return .empty(304) }
            return .empty(204)
        case ("POST", "stop"):
            do { try await engine.stop(id, timeout: request.int("t") ?? request.int("timeout"), signal: request.query["signal"]) }
            catch let error as EngineError where error.kind == .notModified { return .empty(304) }
            return .empty(204)
        case ("POST", "restart"):
            try await engine.restart(id, timeout: request.int("t") ?? request.int("timeout"), signal: request.query["signal"])
            return .empty(204)
        case ("POST", "kill"):
            try await engine.kill(id, signal: request.query["signal"])
            return .empty(204)
        case ("POST", "pause"), ("POST", "unpause"):
            try await engine.pause(id, path[1] == "pause")
            return .empty(204)
        case ("POST", "rename"):
            guard let name = request.query["name"], !name.isEmpty else { throw EngineError(.badRequest, "the new name is missing") }
            try await engine.rename(id, to: name)
            return .empty(204)
        case ("POST", "wait"):
            let condition = request.query["condition"] ?? ""
            // Resolve now so an unknown container is a 404, not a stream that never ends.
            _ = try await engine.record(id)
            let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
            let engine = self.engine
            let task = Task {
                do {
                    let code = try await engine.wait(id, condition: condition)
                    continuation.yield(JSONValue.object(["StatusCode": .int(Int64(code)), "Error": .null]).bytes + [10])
                } catch {
                    continuation.yield(JSONValue.object(["StatusCode": .int(-1), "Error": .object(["Message": .string("\(error)")])]).bytes + [10])
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            return .stream(contentType: "application/json", stream)
        case ("POST", "resize"):
            try await engine.resize(id, height: try request.terminalDimension("h"), width: try request.terminalDimension("w"))
            return .empty(200)
        case ("GET", "top"):
            return .json(200, try await engine.top(id, psArguments: request.query["ps_args"] ?? ""))
        case ("GET", "logs"):
            return try await logs(request, id)
        case ("POST", "attach"):
            return try await attach(request, id)
        case ("POST", "exec"):
            let execID = try await engine.createExec(id, body: try request.json())
            return .json(201, .object(["Id": .string(execID)]))
        case ("HEAD", "archive"), ("GET", "archive"):
            guard let path = request.query["path"], !path.isEmpty else { throw EngineError(.badRequest, "path is required") }
            let (stat, tar) = try await engine.archive(id, path: path, content: request.method == "GET")
            let header = ("X-Docker-Container-Path-Stat", Data(stat.bytes).base64EncodedString())
            guard let tar else { return .headers(200, [header]) }
            return .download(contentType: "application/x-tar", headers: [header], tar)
        case ("PUT", "archive"):
            guard let path = request.query["path"], !path.isEmpty else { throw EngineError(.badRequest, "path is required") }
            try await engine.extract(id, path: path, tar: request.uploadedBody)
            return .empty(200)
        case ("GET", "stats"):
            let first = try await engine.stats(id)
            let streaming = request.query["stream"].map { $0 == "1" || $0 == "true" } ?? true
            if request.flag("one-shot") { return .json(200, first) }
            if !streaming {
                // Like dockerd's collector: a second sample gives `precpu_stats`, so CPU % is meaningful.
                try? await Task.sleep(nanoseconds: 500_000_000)
                var second = try await engine.stats(id)
                second["precpu_stats"] = first["cpu_stats"]
                second["preread"] = first["read"]
                return .json(200, second)
            }
            let engine = self.engine
            let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
            let task = Task {
                var previous = first
                continuation.yield(first.bytes + [10])
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                    guard var next = try? await engine.stats(id) else { break }
                    next["precpu_stats"] = previous["cpu_stats"]
                    next["preread"] = previous["read"]
                    continuation.yield(next.bytes + [10])
                    previous = next
                    if await !engine.isRunning(id) { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            return .stream(contentType: "application/json", stream)
        case ("GET", "export"):
            return .download(contentType: "application/x-tar", try await engine.export(id))
        case ("GET", "changes"):
            return .json(200, try await engine.changes(id))
        case ("POST", "update"):
            let warnings = try await engine.update(id, body: try request.json())
            return .json(200, .object(["Warnings": .array(warnings.map(JSONValue.string))]))
        default:
            throw Router.unsupported(request)
        }
    }

    /// `POST /commit?container=…&repo=…&tag=…`: the body is a container `Config` whose fields override.
    func commit(_ request: APIRequest) async throws -> APIResponse {
        guard let container = request.query["container"], !container.isEmpty else {
            throw EngineError(.badRequest, "container is required")
        }
        var reference: String?
        if let repository = request.query["repo"], !repository.isEmpty {
            reference = repository + ((request.query["tag"]).flatMap { $0.isEmpty ? nil : ":\($0)" } ?? "")
        }
        let body = try request.json()
        let commit = ContainerEngine.CommitRequest(
            reference: reference, comment: request.query["comment"], author: request.query["author"],
            pause: request.query["pause"].map { $0 == "1" || $0.lowercased() == "true" } ?? true,
            changes: request.queryPairs.filter { $0.0 == "changes" }.map(\.1), config: body.object == nil ? nil : body)
        let id = try await engine.commit(container, commit)
        return .json(201, .object(["Id": .string(id.description)]))
    }

    private func logs(_ request: APIRequest, _ id: String) async throws -> APIResponse {
        var options = LogOptions()
        options.stdout = request.flag("stdout")
        options.stderr = request.flag("stderr")
        if !options.stdout && !options.stderr {
            throw EngineError(.badRequest, "Bad parameters: you must choose at least one stream")
        }
        options.follow = request.flag("follow")
        options.timestamps = request.flag("timestamps")
        options.details = request.flag("details")
        if let tail = request.query["tail"], tail != "all", !tail.isEmpty {
            guard let count = Int(tail) else { throw EngineError(.badRequest, "invalid tail value: \(tail)") }
            options.tail = count
        }
        if let since = request.query["since"], since != "0", !since.isEmpty { options.since = Date.parseTimestamp(since) }
        if let until = request.query["until"], until != "0", !until.isEmpty { options.until = Date.parseTimestamp(until) }
        let (tty, frames) = try await engine.logs(id, options: options)
        return .stream(contentType: tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream", frames)
    }

    private func attach(_ request: APIRequest, _ id: String) async throws -> APIResponse {
        let record = try await engine.record(id)
        // `logs=1`: what the container printed so far comes first (from its log), as with dockerd.
        var options = LogOptions()
        options.stdout = request.flag("stdout")
        options.stderr = request.flag("stderr")
        let history = request.flag("logs") && (options.stdout || options.stderr) ? try await engine.logs(id, options: options).frames : nil
        let streaming = request.flag("stream")
        let token = Router.attachToken()
        let line = "ATTACH \(request.flag("stdin") ? 1 : 0) \(request.flag("stdout") ? 1 : 0) \(request.flag("stderr") ? 1 : 0) \(record.tty ? 0 : 1) \(token)"
        let detachKeys = try Router.detachKeys(request, stdin: request.flag("stdin"))
        let engine = self.engine
        let contentType = record.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
        let tickets = streaming ? try await engine.reserveAttach(id) : nil
        return .hijack(contentType: contentType) { stream in
            if let history {
                // The Python SDK reads the `101` head through a buffered reader and the frames from
                // the raw socket underneath: bytes that arrive with the head are lost to it. Only
                // `logs=1` has bytes ready that early (the docker CLI never asks for it), so only
                // it waits a moment for the client to take the head first.
                try? await Task.sleep(for: .milliseconds(50))
                for await frame in history { await stream.write(frame) }
            }
            guard let tickets else {
                await stream.close()
                return
            }
            do {
                var iterator = tickets.makeAsyncIterator()
                guard let ticket = try await iterator.next() else { return await stream.close() }
                defer { ticket.connected() }
                let socket = ticket.socketPath
                try await stream.splice(toUnixSocket: socket, firstLine: line, detachKeys: detachKeys) {
                    await engine.detachAttachment(socketPath: socket, token: token)
                }
            } catch {
                await stream.write(Array("Error: \(error)\n".utf8))
                await stream.close()
            }
        }
    }

    /// Names one attachment at its shim, for a detach.
    static func attachToken() -> String { String(UInt64.random(in: 0...UInt64.max), radix: 16) }

    /// The `detachKeys` query (default ctrl-p,ctrl-q); only watched when stdin is attached.
    static func detachKeys(_ request: APIRequest, stdin: Bool) throws -> [UInt8] {
        guard stdin else { return [] }
        let text = request.query["detachKeys"].flatMap { $0.isEmpty ? nil : $0 } ?? "ctrl-p,ctrl-q"
        guard let keys = DetachKeys.parse(text) else { throw EngineError(.badRequest, "Invalid detach keys (\(text)) provided") }
        return keys
    }

    private func prune(_ request: APIRequest) async throws -> JSONValue {
        let filter = try PruneFilter(try request.filters())
        // With sizes: what a removal reclaims is the container's writable layer.
        let all = try await engine.list(all: true, limit: nil, size: true, filters: [:])
        var deleted: [JSONValue] = []
        var reclaimed: Int64 = 0
        for summary in all where !["running", "paused", "restarting"].contains(summary["State"]?.string ?? "") {
            guard let id = summary["Id"]?.string else { continue }
            let labels = (summary["Labels"]?.object ?? [:]).compactMapValues(\.string)
            let created = summary["Created"]?.int.map { Date(timeIntervalSince1970: Double($0)) }
            guard filter.selects(labels: labels, created: created) else { continue }
            if (try? await engine.remove(id, force: false)) != nil {
                deleted.append(.string(id))
                reclaimed += summary["SizeRw"]?.int ?? 0
            }
        }
        return .object(["ContainersDeleted": deleted.isEmpty ? .null : .array(deleted), "SpaceReclaimed": .int(reclaimed)])
    }

    func exec(_ request: APIRequest, _ path: [String]) async throws -> APIResponse {
        guard path.count == 2 else { throw Router.unsupported(request) }
        let id = path[0]
        switch (request.method, path[1]) {
        case ("GET", "json"):
            return .json(200, try await engine.inspectExec(id))
        case ("POST", "resize"):
            try await engine.resizeExec(id, height: try request.terminalDimension("h"), width: try request.terminalDimension("w"))
            return .empty(200)
        case ("POST", "start"):
            let body = GoJSONKeys.canonical(try request.json(), ["Detach", "Tty", "ConsoleSize"])
            let exec = try await engine.exec(id)
            let socket = try await engine.prepareExec(id)
            if body["Detach"]?.bool ?? false {
                try await engine.startExec(id, detached: true)
                return .empty(200)
            }
            // dockerd frames the stream by the start request's Tty, not the exec's (a client may
            // create with a tty and ask for a multiplexed stream, or the reverse).
            let raw = body["Tty"]?.bool ?? false
            let token = Router.attachToken()
            let line = "ATTACH \(exec.config["AttachStdin"]?.bool ?? false ? 1 : 0) 1 1 \(raw ? 0 : 1) \(token)"
            let detachKeys = exec.config["AttachStdin"]?.bool ?? false
                ? DetachKeys.parse(exec.config["DetachKeys"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? "ctrl-p,ctrl-q") ?? [] : []
            let engine = self.engine
            let contentType = raw ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
            return .hijack(contentType: contentType) { stream in
                do {
                    try await stream.splice(toUnixSocket: socket, firstLine: line, detachKeys: detachKeys) {
                        await engine.detachAttachment(socketPath: socket, token: token)
                    }
                } catch {
                    await stream.write(Array("\(error)\r\n".utf8))
                    await stream.close()
                    return
                }
                // A process that cannot start: the shim tells the attached stream why and ends it.
                do { try await engine.startExec(id) } catch { await stream.close() }
            }
        default:
            throw Router.unsupported(request)
        }
    }
}
