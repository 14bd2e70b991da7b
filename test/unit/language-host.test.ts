import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { LanguageRuntimeClient } from "@pulumi/pulumi/proto/language_grpc_pb";
import * as language from "@pulumi/pulumi/proto/language_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { PluginInfo } from "@pulumi/pulumi/proto/plugin_pb";

const HOST = path.join(__dirname, "../../tools/language-host/main.js");
const REPOSITORY = path.join(__dirname, "../../..");

/** Calls a unary method of the client as a promise. */
function call<Req, Res>(method: (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => method(request, (error, response) => (error ? reject(error) : resolve(response))));
}

/**
 * Our language host, started as the engine starts it (`pulumi-language-nodejs ENGINE_ADDRESS`),
 * over real gRPC. Its Run is shown by the CLI tests of the examples (test/e2e/examples.test.ts).
 */
describe("our pulumi-language-nodejs", function () {
  this.timeout(60_000);
  let host: ChildProcess;
  let client: InstanceType<typeof LanguageRuntimeClient>;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "wgf-langhost-"));
    host = spawn(process.execPath, [HOST, "-root=/nowhere", "127.0.0.1:1"], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<string>((resolve, reject) => {
      host.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
      host.once("exit", (code) => reject(new Error(`the host exited with ${code}`)));
    });
    assert.match(port, /^\d+$/, "the first line is the port, as the engine reads it");
    client = new LanguageRuntimeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    if (host?.pid) host.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const programInfo = (directory: string) => new language.ProgramInfo().setRootDirectory(directory).setProgramDirectory(directory).setEntryPoint(".");

  it("answers the handshake and plugin info with the SDK's version", async () => {
    await call<language.LanguageHandshakeRequest, language.LanguageHandshakeResponse>(client.handshake.bind(client), new language.LanguageHandshakeRequest().setEngineAddress("127.0.0.1:1"));
    const info = await call<Empty, PluginInfo>(client.getPluginInfo.bind(client), new Empty());
    const sdk = JSON.parse(readFileSync(path.join(REPOSITORY, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string };
    assert.equal(info.getVersion(), sdk.version);
  });

  it("reports the resource plugins of the program's node_modules, as the official host does", async () => {
    const packages = await call<language.GetRequiredPackagesRequest, language.GetRequiredPackagesResponse>(client.getRequiredPackages.bind(client), new language.GetRequiredPackagesRequest().setInfo(programInfo(REPOSITORY)));
    const command = JSON.parse(readFileSync(path.join(REPOSITORY, "node_modules/@pulumi/command/package.json"), "utf8")) as { version: string };
    assert.deepEqual(
      packages.getPackagesList().map((p) => [p.getName(), p.getKind(), p.getVersion()]),
      [["command", "resource", `v${command.version}`]],
    );
    const plugins = await call<language.GetRequiredPluginsRequest, language.GetRequiredPluginsResponse>(client.getRequiredPlugins.bind(client), new language.GetRequiredPluginsRequest().setInfo(programInfo(dir)));
    assert.deepEqual(plugins.getPluginsList(), [], "a folder without node_modules needs no plugin");
  });

  it("installs dependencies with npm, streaming its output; a failure is an error", async () => {
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "empty", version: "1.0.0", private: true }));
    const install = (directory: string) =>
      new Promise<string>((resolve, reject) => {
        let output = "";
        const stream = client.installDependencies(new language.InstallDependenciesRequest().setDirectory(directory).setInfo(programInfo(directory)));
        stream.on("data", (message: language.InstallDependenciesResponse) => (output += Buffer.from(message.getStdout_asU8()).toString() + Buffer.from(message.getStderr_asU8()).toString()));
        stream.on("error", reject);
        stream.on("end", () => resolve(output));
      });
    assert.match(await install(dir), /up to date|added 0 packages/);
    await assert.rejects(install(path.join(dir, "missing")), /could not run npm install in .*missing/);
  });

  it("says how to install the SDK when the program has none, instead of running", async () => {
    const response = await call<language.RunRequest, language.RunResponse>(client.run.bind(client), new language.RunRequest().setMonitorAddress("127.0.0.1:1").setInfo(programInfo(dir)));
    assert.match(response.getError(), /@pulumi\/pulumi is not installed in .*: run npm install there/);
  });
});
