#!/usr/bin/env node
/**
 * A small `pulumi-language-nodejs`: the engine's language host for Node.js programs, for
 * machines where the official one cannot be installed (scripts/pulumi-engine.sh puts it on
 * PATH only then). It does what the official host does for a program: answers the handshake,
 * plugin info and required packages, runs the program through the program's own
 * `@pulumi/pulumi/cmd/run` with the arguments and environment the engine gives, and installs
 * dependencies with npm. Code generation, policy packs and plugins in Node are not served.
 *
 * Started by the engine as `pulumi-language-nodejs [-flags…] ENGINE_ADDRESS`; prints the port
 * it listens on, as the engine expects of every plugin.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import type { ILanguageRuntimeServer } from "@pulumi/pulumi/proto/language_grpc_pb";
import type * as languageTypes from "@pulumi/pulumi/proto/language_pb";
import type * as pluginTypes from "@pulumi/pulumi/proto/plugin_pb";

/** Modules of the @pulumi/pulumi SDK this host is installed with (its gRPC bindings). */
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromSdk = <T>(id: string): T => require(require.resolve(id, { paths: [sdkDir] })) as T;
const grpc = fromSdk<typeof grpcTypes>("@grpc/grpc-js");
const services = fromSdk<{ LanguageRuntimeService: grpcTypes.ServiceDefinition }>("@pulumi/pulumi/proto/language_grpc_pb");
const language = fromSdk<typeof languageTypes>("@pulumi/pulumi/proto/language_pb");
const plugin = fromSdk<typeof pluginTypes>("@pulumi/pulumi/proto/plugin_pb");
const { Empty } = fromSdk<{ Empty: new () => object }>("google-protobuf/google/protobuf/empty_pb");

/** The program exits with this code when it already reported its error (cmd/run's convention). */
const ERROR_ALREADY_REPORTED = 32;
/** The engine's own limit for gRPC messages (large stacks send large ones). */
const MAX_MESSAGE = 400 * 1024 * 1024;

/** What the host needs to know about a program: where it is and its runtime options from Pulumi.yaml. */
interface Program {
  readonly rootDirectory: string;
  readonly directory: string;
  readonly entryPoint: string;
  readonly options: Record<string, unknown>;
}

function programOf(info: languageTypes.ProgramInfo | undefined, fallbackDir: string, fallbackEntry = "."): Program {
  return {
    rootDirectory: info?.getRootDirectory() || fallbackDir,
    directory: info?.getProgramDirectory() || fallbackDir,
    entryPoint: info?.getEntryPoint() || fallbackEntry,
    options: (info?.getOptions()?.toJavaScript() ?? {}) as Record<string, unknown>,
  };
}

/** Packages in the program's node_modules that ship a resource plugin (`"pulumi": { "resource": true }`). */
function requiredPlugins(directory: string): pluginTypes.PackageDependency[] {
  const found = new Map<string, pluginTypes.PackageDependency>();
  const visit = (modules: string): void => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith(".")) continue;
      const dir = path.join(modules, entry);
      if (entry.startsWith("@")) {
        visit(dir);
        continue;
      }
      let manifest: { name?: string; version?: string; pulumi?: { resource?: boolean; name?: string; version?: string; server?: string } };
      try {
        manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
      } catch {
        continue;
      }
      if (!manifest.pulumi?.resource || !manifest.name) continue;
      const name = manifest.pulumi.name ?? manifest.name.replace(/^@pulumi\//, "").replace(/^@/, "");
      const version = manifest.pulumi.version ?? manifest.version ?? "";
      const dependency = new plugin.PackageDependency().setName(name).setKind("resource").setVersion(version && !version.startsWith("v") ? `v${version}` : version);
      if (manifest.pulumi.server) dependency.setServer(manifest.pulumi.server);
      found.set(`${name}@${version}`, dependency);
    }
  };
  visit(path.join(directory, "node_modules"));
  return [...found.values()];
}

/** The command line of `cmd/run` for a RunRequest, as the official host builds it. */
function runArguments(request: languageTypes.RunRequest, runPath: string, engineAddress: string, program: Program): string[] {
  const args = [runPath];
  const add = (flag: string, value: string | number | undefined): void => {
    if (value !== undefined && value !== "" && value !== 0) args.push(`--${flag}`, String(value));
  };
  add("monitor", request.getMonitorAddress());
  add("engine", engineAddress);
  add("organization", request.getOrganization());
  add("project", request.getProject());
  add("root-directory", program.rootDirectory);
  add("stack", request.getStack());
  add("pwd", program.directory);
  if (request.getDryrun()) args.push("--dry-run");
  add("parallel", request.getParallel());
  args.push(program.entryPoint, ...request.getArgsList());
  return args;
}

/** The environment of `cmd/run`: config as JSON, and the TypeScript options of Pulumi.yaml. */
function runEnvironment(request: languageTypes.RunRequest, program: Program): NodeJS.ProcessEnv {
  const config = Object.fromEntries(request.getConfigMap().toArray());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(request.getConfigsecretkeysList()),
    PULUMI_NODEJS_TYPESCRIPT: String(program.options.typescript !== false),
  };
  if (typeof program.options.tsconfig === "string") env.PULUMI_NODEJS_TSCONFIG_PATH = program.options.tsconfig;
  return env;
}

function runProgram(request: languageTypes.RunRequest, engineAddress: string): Promise<languageTypes.RunResponse> {
  const program = programOf(request.getInfo(), request.getPwd(), request.getProgram() || ".");
  const response = new language.RunResponse();
  let runPath: string;
  try {
    runPath = require.resolve("@pulumi/pulumi/cmd/run", { paths: [program.directory] });
  } catch {
    return Promise.resolve(response.setError(`@pulumi/pulumi is not installed in ${program.directory}: run npm install there (pulumi install)`));
  }
  const nodeArgs = typeof program.options.nodeargs === "string" ? program.options.nodeargs.split(/\s+/).filter(Boolean) : [];
  const child = spawn(process.execPath, [...nodeArgs, ...runArguments(request, runPath, engineAddress, program)], {
    cwd: program.directory,
    env: runEnvironment(request, program),
    stdio: ["ignore", "inherit", "inherit"],
  });
  return new Promise((resolve) => {
    child.on("error", (error) => resolve(response.setError(`could not start the program: ${error.message}`)));
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(response);
      else if (code === ERROR_ALREADY_REPORTED) resolve(response.setBail(true));
      else resolve(response.setError(signal ? `Program exited by signal ${signal}` : `Program exited with non-zero exit code: ${code}`));
    });
  });
}

/** `npm ci` where a lockfile pins the dependencies, `npm install` elsewhere; output streamed back. */
function installDependencies(call: grpcTypes.ServerWritableStream<languageTypes.InstallDependenciesRequest, languageTypes.InstallDependenciesResponse>): void {
  const directory = programOf(call.request.getInfo(), call.request.getDirectory()).directory;
  const command = existsSync(path.join(directory, "package-lock.json")) ? "ci" : "install";
  let finished = false;
  // a server stream ends once: with its last message, or with an error status
  const finish = (error?: string): void => {
    if (finished) return;
    finished = true;
    if (error === undefined) call.end();
    else call.emit("error", { code: grpc.status.UNKNOWN, details: error });
  };
  const child = spawn("npm", [command, "--no-audit", "--no-fund"], { cwd: directory, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (chunk: Buffer) => call.write(new language.InstallDependenciesResponse().setStdout(chunk)));
  child.stderr.on("data", (chunk: Buffer) => call.write(new language.InstallDependenciesResponse().setStderr(chunk)));
  child.on("error", (error) => finish(`could not run npm ${command} in ${directory}: ${error.message}`));
  child.on("close", (code) => finish(code === 0 ? undefined : `npm ${command} exited with code ${code}`));
}

type Unary<Req, Res> = grpcTypes.handleUnaryCall<Req, Res>;

/** Answers a unary call with what `answer` returns (or the error it throws). */
function unary<Req, Res>(answer: (request: Req) => Res | Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => answer(call.request))
      .then(
        (response) => callback(null, response),
        (error: Error) => callback({ code: grpc.status.UNKNOWN, details: error.message, name: error.name, message: error.message }),
      );
  };
}

function serve(engineAddress: string): void {
  const version = (JSON.parse(readFileSync(path.join(sdkDir, "package.json"), "utf8")) as { version: string }).version;
  const implementation: Partial<ILanguageRuntimeServer> = {
    handshake: unary(() => new language.LanguageHandshakeResponse()),
    getPluginInfo: unary(() => new plugin.PluginInfo().setVersion(version)),
    getRequiredPlugins: unary((request: languageTypes.GetRequiredPluginsRequest) => {
      const plugins = requiredPlugins(programOf(request.getInfo(), request.getPwd()).directory).map((p) =>
        new plugin.PluginDependency().setName(p.getName()).setKind(p.getKind()).setVersion(p.getVersion()).setServer(p.getServer()),
      );
      return new language.GetRequiredPluginsResponse().setPluginsList(plugins);
    }),
    getRequiredPackages: unary((request: languageTypes.GetRequiredPackagesRequest) =>
      new language.GetRequiredPackagesResponse().setPackagesList(requiredPlugins(programOf(request.getInfo(), process.cwd()).directory)),
    ),
    run: unary((request: languageTypes.RunRequest) => runProgram(request, engineAddress)),
    installDependencies,
    cancel: unary(() => new Empty() as never),
  };
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_MESSAGE, "grpc.max_send_message_length": MAX_MESSAGE });
  server.addService(services.LanguageRuntimeService, implementation as grpcTypes.UntypedServiceImplementation);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      console.error(`pulumi-language-nodejs: could not listen: ${error.message}`);
      process.exit(1);
    }
    process.stdout.write(`${port}\n`);
  });
}

if (require.main === module) {
  // Flags (-root=…, runtime options of older engines) come first; the engine's address is last.
  const engineAddress = process.argv.slice(2).filter((arg) => !arg.startsWith("-")).pop() ?? "";
  serve(engineAddress);
}
