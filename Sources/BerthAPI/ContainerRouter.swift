import BerthEngine
import Foundation

/// `/containers`, `/exec` and `/commit` over a `ContainerBackend`.
struct ContainerRouter: Sendable {
    let engine: any ContainerBackend

    var routes: [Route] {
        let engine = self.engine
        return [
            Route("GET", "/containers/json") { request, _ in
                .json(200, .array(try await engine.list(all: request.flag("all"), limit: request.int("limit"), size: request.flag("size"),
                                                        filters: try request.filters()).map(\.json)))
            },
            Route("POST", "/containers/create") { request, _ in
                let created = try await engine.create(name: request.query["name"], body: try request.json())
                var response = ContainerCreateResponse()
                response.id = created.id
                response.warnings = created.warnings
                return .json(201, response.json)
            },
            Route("POST", "/containers/prune") { request, _ in .json(200, try await self.prune(request)) },
            Route("DELETE", "/containers/{id}") { request, path in
                if request.flag("link") { throw EngineError(.badRequest, "removing a link (rm --link) is not supported by Berth: remove and re-create the linking container") }
                try await engine.remove(path["id"], force: request.flag("force"), volumes: request.flag("v"))
                return .empty(204)
            },
            Route("GET", "/containers/{id}/json") { request, path in
                .json(200, try await engine.inspect(path["id"], size: request.flag("size")).json)
            },
            Route("POST", "/containers/{id}/start") { _, path in
                do { try await engine.start(path["id"]) } catch let error as EngineError where error.kind == .notModified { return .empty(304) }
                return .empty(204)
            },
            Route("POST", "/containers/{id}/stop") { request, path in
                do { try await engine.stop(path["id"], timeout: request.int("t") ?? request.int("timeout"), signal: request.query["signal"]) }
                catch let error as EngineError where error.kind == .notModified { return .empty(304) }
                return .empty(204)
            },
            Route("POST", "/containers/{id}/restart") { request, path in
                try await engine.restart(path["id"], timeout: request.int("t") ?? request.int("timeout"), signal: request.query["signal"])
                return .empty(204)
            },
            Route("POST", "/containers/{id}/kill") { request, path in
                try await engine.kill(path["id"], signal: request.query["signal"])
                return .empty(204)
            },
            Route("POST", "/containers/{id}/pause") { _, path in
                try await engine.pause(path["id"], true)
                return .empty(204)
            },
            Route("POST", "/containers/{id}/unpause") { _, path in
                try await engine.pause(path["id"], false)
                return .empty(204)
            },
            Route("POST", "/containers/{id}/rename") { request, path in
                guard let name = request.query["name"], !name.isEmpty else { throw EngineError(.badRequest, "the new name is missing") }
                try await engine.rename(path["id"], to: name)
                return .empty(204)
            },
            Route("POST", "/containers/{id}/wait") { request, path in try await self.wait(request, path["id"]) },
            Route("POST", "/containers/{id}/resize") { request, path in
                try await engine.resize(path["id"], height: try request.terminalDimension("h"), width: try request.terminalDimension("w"))
                return .empty(200)
            },
            Route("GET", "/containers/{id}/top") { request, path in
                .json(200, try await engine.top(path["id"], psArguments: request.query["ps_args"] ?? "").json)
            },
            Route("GET", "/containers/{id}/logs") { request, path in try await self.logs(request, path["id"]) },
            Route("POST", "/containers/{id}/attach") { request, path in try await self.attach(request, path["id"]) },
            Route("POST", "/containers/{id}/exec") { request, path in
                .json(201, .object(["Id": .string(try await engine.createExec(path["id"], body: try request.json()))]))
            },
            Route("HEAD", "/containers/{id}/archive") { request, path in try await self.archive(request, path["id"], content: false) },
            Route("GET", "/containers/{id}/archive") { request, path in try await self.archive(request, path["id"], content: true) },
            Route("PUT", "/containers/{id}/archive") { request, path in
                guard let target = request.query["path"], !target.isEmpty else { throw EngineError(.badRequest, "path is required") }
                try await engine.extractArchive(path["id"], path: target, tar: request.uploadedBody,
                                                copyOwners: request.flag("copyUIDGID"), keepKinds: request.flag("noOverwriteDirNonDir"))
                return .empty(200)
            },
            Route("GET", "/containers/{id}/stats") { request, path in try await self.stats(request, path["id"]) },
            Route("GET", "/containers/{id}/export") { _, path in
                .download(contentType: "application/x-tar", try await engine.export(path["id"]))
            },
            Route("GET", "/containers/{id}/changes") { _, path in .json(200, try await engine.changes(path["id"])) },
            Route("POST", "/containers/{id}/update") { request, path in
                let warnings = try await engine.update(path["id"], body: try request.json())
                return .json(200, .object(["Warnings": .array(warnings.map(JSONValue.string))]))
            },
            Route("POST", "/commit") { request, _ in try await self.commit(request) },
            Route("GET", "/exec/{id}/json") { _, path in .json(200, try await engine.inspectExec(path["id"])) },
            Route("POST", "/exec/{id}/resize") { request, path in
                try await engine.resizeExec(path["id"], height: try request.terminalDimension("h"), width: try request.terminalDimension("w"))
                return .empty(200)
            },
            Route("POST", "/exec/{id}/start") { request, path in try await self.startExec(request, path["id"]) },
        ]
    }

    /// `POST /containers/{id}/wait`: the status once the condition is met, as a stream (the
    /// head goes at once, as dockerd sends it).
    private func wait(_ request: APIRequest, _ id: String) async throws -> APIResponse {
        let condition = request.query["condition"] ?? ""
        // Resolve now so an unknown container is a 404, not a stream that never ends.
        _ = try await engine.usesTerminal(id)
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let engine = self.engine
        let task = Task {
            var response = ContainerWaitResponse()
            do {
                response.statusCode = Int64(try await engine.wait(id, condition: condition))
                response.nullFields = ["Error"]
            } catch {
                response.statusCode = -1
                response.error = .object(["Message": .string("\(error)")])
            }
            continuation.yield(response.json.bytes + [10])
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return .stream(contentType: "application/json", stream)
    }

    /// HEAD/GET `/containers/{id}/archive`: the path's stat in a header, and with GET its tar.
    private func archive(_ request: APIRequest, _ id: String, content: Bool) async throws -> APIResponse {
        guard let path = request.query["path"], !path.isEmpty else { throw EngineError(.badRequest, "path is required") }
        let (stat, tar) = try await engine.archive(id, path: path, content: content)
        let header = ("X-Docker-Container-Path-Stat", Data(stat.bytes).base64EncodedString())
        guard let tar else { return .headers(200, [header]) }
        return .download(contentType: "application/x-tar", headers: [header], tar)
    }

    private func stats(_ request: APIRequest, _ id: String) async throws -> APIResponse {
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
        let tty = try await engine.usesTerminal(id)
        // `logs=1`: what the container printed so far comes first (from its log), as with dockerd.
        var options = LogOptions()
        options.stdout = request.flag("stdout")
        options.stderr = request.flag("stderr")
        let history = request.flag("logs") && (options.stdout || options.stderr) ? try await engine.logs(id, options: options).frames : nil
        let streaming = request.flag("stream")
        let token = ContainerRouter.attachToken()
        let line = "ATTACH \(request.flag("stdin") ? 1 : 0) \(request.flag("stdout") ? 1 : 0) \(request.flag("stderr") ? 1 : 0) \(tty ? 0 : 1) \(token)"
        let detachKeys = try ContainerRouter.detachKeys(request, stdin: request.flag("stdin"))
        let engine = self.engine
        let contentType = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
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
        for summary in all where !["running", "paused", "restarting"].contains(summary.state ?? "") {
            guard let id = summary.id else { continue }
            let created = summary.created.map { Date(timeIntervalSince1970: Double($0)) }
            guard filter.selects(labels: summary.labels ?? [:], created: created) else { continue }
            if (try? await engine.remove(id, force: false, volumes: false)) != nil {
                deleted.append(.string(id))
                reclaimed += summary.sizeRw ?? 0
            }
        }
        return .object(["ContainersDeleted": deleted.isEmpty ? .null : .array(deleted), "SpaceReclaimed": .int(reclaimed)])
    }

    /// `POST /exec/{id}/start`: detached, or the process's stream on the hijacked connection.
    private func startExec(_ request: APIRequest, _ id: String) async throws -> APIResponse {
        let body = GoJSONKeys.canonical(try request.json(), ["Detach", "Tty", "ConsoleSize"])
        let attachment = try await engine.prepareExecAttachment(id)
        if body["Detach"]?.bool ?? false {
            try await engine.startExec(id, detached: true)
            return .empty(200)
        }
        // dockerd frames the stream by the start request's Tty, not the exec's (a client may
        // create with a tty and ask for a multiplexed stream, or the reverse).
        let raw = body["Tty"]?.bool ?? false
        let token = ContainerRouter.attachToken()
        let line = "ATTACH \(attachment.stdin ? 1 : 0) 1 1 \(raw ? 0 : 1) \(token)"
        let detachKeys = attachment.stdin ? DetachKeys.parse(attachment.detachKeys ?? "ctrl-p,ctrl-q") ?? [] : []
        let engine = self.engine
        let socket = attachment.socketPath
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
            do { try await engine.startExec(id, detached: false) } catch { await stream.close() }
        }
    }
}
