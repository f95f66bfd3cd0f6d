// Which instruction fields Docker expands, and how (BuildKit's per-command Expand methods).
import Dockerfile
import Testing

@Suite struct InstructionExpansionTests {
    let env = ["NAME": "app", "DIR": "/srv", "PORT": "8080", "Q": "quoted value"]

    func only(_ text: String) throws -> Instruction {
        let file = try Dockerfile.parse("FROM scratch\n" + text, fileName: "Dockerfile")
        return try #require(file.stages[0].instructions.first)
    }

    @Test func copyExpandsPathsOwnershipAndModeButNotFrom() throws {
        let copy = try only("COPY --from=build --chown=$NAME:$NAME --chmod=${MODE:-0644} $DIR/a \"b\" ${DIR}/dst/\n")
        guard case .copy(let c) = try copy.expanded(environment: env) else {
            Issue.record("not COPY")
            return
        }
        #expect(c.sources == [.path("/srv/a"), .path("b")])
        #expect(c.destination == "/srv/dst/")
        #expect(c.chown == "app:app")
        #expect(c.chmod == "0644")
        #expect(c.from == "build")
    }

    @Test func heredocBodiesExpandOnlyWithUnquotedDelimiter() throws {
        let text = "COPY <<EOF <<'RAW' /dst/\nname=$NAME \"kept\" \\$NAME\nEOF\nname=$NAME\nRAW\n"
        guard case .copy(let c) = try only(text).expanded(environment: env) else {
            Issue.record("not COPY")
            return
        }
        guard case .heredoc(let expanded) = c.sources[0], case .heredoc(let literal) = c.sources[1] else {
            Issue.record("sources are not heredocs")
            return
        }
        #expect(expanded.content == "name=app \"kept\" $NAME\n")
        #expect(literal.content == "name=$NAME\n")
    }

    @Test func envAndLabelExpandKeysAndValuesAndRemoveQuotes() throws {
        guard case .env(let e) = try only("ENV A=$NAME B=\"$Q\" C='$NAME' ${NAME}_HOME=$DIR\n").expanded(environment: env) else {
            Issue.record("not ENV")
            return
        }
        #expect(
            e.pairs == [
                KeyValue(key: "A", value: "app"), KeyValue(key: "B", value: "quoted value"),
                KeyValue(key: "C", value: "$NAME"), KeyValue(key: "app_HOME", value: "/srv"),
            ])
        guard case .label(let l) = try only("LABEL \"my key\"=\"$NAME v\"\n").expanded(environment: env) else { return }
        #expect(l.pairs == [KeyValue(key: "my key", value: "app v")])
    }

    @Test func singleWordInstructionsExpand() throws {
        guard case .workdir(let w) = try only("WORKDIR $DIR/$NAME\n").expanded(environment: env) else { return }
        #expect(w.path == "/srv/app")
        guard case .user(let u) = try only("USER ${NAME}:${GROUP:-staff}\n").expanded(environment: env) else { return }
        #expect(u.user == "app:staff")
        guard case .expose(let x) = try only("EXPOSE $PORT ${PORT}/udp\n").expanded(environment: env) else { return }
        #expect(x.ports == ["8080", "8080/udp"])
        guard case .volume(let v) = try only("VOLUME [\"$DIR/data\"]\n").expanded(environment: env) else { return }
        #expect(v.paths == ["/srv/data"])
        guard case .stopSignal(let s) = try only("STOPSIGNAL ${SIG:-SIGQUIT}\n").expanded(environment: env) else { return }
        #expect(s.signal == "SIGQUIT")
    }

    @Test(arguments: [
        "RUN echo $NAME", "CMD echo $NAME", "ENTRYPOINT [\"$NAME\"]", "SHELL [\"$NAME\"]", "HEALTHCHECK CMD echo $NAME",
        "ONBUILD RUN echo $NAME", "MAINTAINER $NAME", "ARG X=$NAME",
    ])
    func instructionsDockerDoesNotExpandStayUnchanged(line: String) throws {
        let instruction = try only(line + "\n")
        #expect(try instruction.expanded(environment: env) == instruction)
    }

    @Test func runMountValuesExpand() throws {
        guard case .run(let r) = try only("RUN --mount=type=cache,target=$DIR/cache,id=$NAME true\n").expanded(environment: env) else {
            return
        }
        #expect(r.mounts.first?.target == "/srv/cache")
        #expect(r.mounts.first?.id == "app")
        #expect(r.command == .shell("true"))
    }

    @Test func fromExpandsWithMetaArguments() throws {
        let file = try Dockerfile.parse("ARG V=3.20\nFROM --platform=$BUILDPLATFORM alpine:$V AS x\n", fileName: "Dockerfile")
        let global = try GlobalArguments(dockerfile: file, buildArgs: [:], predefined: ["BUILDPLATFORM": "linux/amd64"])
        guard case .from(let f) = try Instruction.from(file.stages[0].from).expanded(environment: global.environment) else { return }
        #expect(f.image == "alpine:3.20")
        #expect(f.platform == "linux/amd64")
        #expect(f.stageName == "x")
    }

    @Test func expansionErrorsNameTheInstructionAndLocation() throws {
        let instruction = try only("WORKDIR ${DIR:?must be set}\n")
        #expect(throws: DockerfileError.self) { try instruction.expanded(environment: [:]) }
        do {
            _ = try instruction.expanded(environment: [:])
        } catch {
            #expect("\(error)" == "Dockerfile:2:1: WORKDIR: failed to expand \"${DIR:?must be set}\": DIR: must be set")
        }
    }
}
