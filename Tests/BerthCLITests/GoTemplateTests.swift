import BerthCLI
import BerthAPITypes
import Foundation
import Testing

/// `--format` templates with the output docker (Go's text/template) gives for the same data.
@Suite("Go template subset")
struct GoTemplateTests {
    static let inspect: JSONValue = try! JSONDecoder().decode(JSONValue.self, from: Data(#"""
    {"Id": "4f2a", "Name": "/web", "RestartCount": 0,
     "State": {"Status": "running", "Running": true, "Pid": 42, "ExitCode": 0, "Health": null},
     "Config": {"Env": ["PATH=/bin", "A=b"], "Cmd": ["sh", "-c", "echo hi"], "Labels": {"tier": "web", "b": "2"},
                "Image": "busybox", "Entrypoint": null},
     "HostConfig": {"Memory": 100663296, "NanoCpus": 500000000},
     "Mounts": [], "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}}
    """#.utf8))

    static let corpus: [(template: String, expected: String)] = [
        ("{{.State.Status}}", "running"),
        ("{{.Name}} {{.State.Pid}} {{.State.Running}}", "/web 42 true"),
        ("{{.HostConfig.Memory}}", "100663296"),
        ("{{json .Config.Labels}}", #"{"b":"2","tier":"web"}"#),
        ("{{json .Config.Cmd}}", #"["sh","-c","echo hi"]"#),
        ("{{range .Config.Env}}{{println .}}{{end}}", "PATH=/bin\nA=b\n"),
        ("{{range .Config.Env}}[{{.}}]{{else}}none{{end}}", "[PATH=/bin][A=b]"),
        ("{{range .Mounts}}x{{else}}none{{end}}", "none"),
        ("{{index .Config.Labels \"tier\"}}", "web"),
        ("{{index .Config.Cmd 2}}", "echo hi"),
        ("{{(index (index .Ports \"80/tcp\") 0).HostPort}}", "8080"),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        ("{{if eq .State.Status \"exited\"}}gone{{else if eq .State.Status \"running\"}}here{{end}}", "here"),
        ("{{if not .RestartCount}}never restarted{{end}}", "never restarted"),
        ("{{join .Config.Cmd \" \"}}", "sh -c echo hi"),
        ("{{upper .Config.Image}} {{lower \"ABC\"}}", "BUSYBOX abc"),
        ("{{.Config.Image | upper}}", "BUSYBOX"),
        ("{{len .Config.Env}}", "2"),
        ("{{.Config.Labels}}", "map[b:2 tier:web]"),
        ("{{.Config.Cmd}}", "[sh -c echo hi]"),
        ("{{.Missing}}", "<no value>"),
        ("{{.State.Health}}", "<nil>"),
        ("{{with .State}}{{.Status}}/{{.ExitCode}}{{end}}", "running/0"),
        ("{{printf \"%s:%d\" .Config.Image .State.Pid}}", "busybox:42"),
        ("a  {{- .Name -}}  b", "a/webb"),
        ("{{/* a comment */}}x", "x"),
        ("{{range $k, $v := .Config.Labels}}{{.}};{{end}}", "2;web;"),
        ("{{split \"a,b\" \",\"}}", "[a b]"),
        ("{{title \"hello\"}}", "Hello"),
    ]

    @Test(arguments: corpus.indices)
    func rendersAsDocker(_ index: Int) throws {
        let (template, expected) = Self.corpus[index]
        #expect(try GoTemplate(template).render(Self.inspect) == expected, "\(template)")
    }

    @Test func badTemplatesAreParseErrors() {
        #expect(throws: GoTemplate.ParseError.self) { try GoTemplate("{{.State.Status") }
        #expect(throws: GoTemplate.ParseError.self) { try GoTemplate("{{if .X}}no end") }
        #expect(throws: GoTemplate.ParseError.self) { try GoTemplate("{{end}}") }
        #expect(throws: GoTemplate.ParseError.self) { try GoTemplate("{{nosuchfunc .X}}").render(Self.inspect) }
        #expect(throws: GoTemplate.ParseError.self) { try GoTemplate("{{.Name.Deeper}}").render(Self.inspect) }
    }
}
