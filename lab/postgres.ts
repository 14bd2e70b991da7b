import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";

/** Debian's PostgreSQL server binaries (postgresql-NN), the newest there is. */
function binaries(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin/initdb"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error("PostgreSQL is not installed (apt-get install postgresql): npm test's setup installs it");
  return path.join(root, versions[0] as string, "bin");
}

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A PostgreSQL server for a shared Pulumi backend (`postgres://`, Pulumi 3.176 and later):
 * Debian's, in a data folder of its own, trusting connections on loopback only, as the
 * `postgres` user (PostgreSQL refuses to run as root). {@link stop} stops it and, should that
 * fail, kills it by the PID in its postmaster.pid.
 */
export class Postgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** Starts a server in `dir` (made anew) with an empty database `pulumi`. */
  static async start(dir: string): Promise<Postgres> {
    const bin = binaries();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { uid, gid } = userOf("postgres");
    chownSync(dir, uid, gid);
    const server = new Postgres(dir, await freePort());
    const asPostgres = (command: string, args: string[]) => execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, command), ...args], { stdio: "pipe" });
    asPostgres("initdb", ["-D", server.data, "--auth=trust", "-U", "postgres"]);
    asPostgres("pg_ctl", ["-D", server.data, "-o", `-c listen_addresses=127.0.0.1 -p ${server.port} -k ${dir}`, "-l", path.join(dir, "log"), "-w", "start"]);
    asPostgres("createdb", ["-h", "127.0.0.1", "-p", String(server.port), "pulumi"]);
    return server;
  }

  private get data(): string {
    return path.join(this.dir, "data");
  }

  /** The Pulumi backend URL of the database. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/pulumi?sslmode=disable`;
  }

  /** Stops the server (by its PID if pg_ctl cannot) and removes its folder. */
  stop(): void {
    const pidFile = path.join(this.data, "postmaster.pid");
    try {
      execFileSync("runuser", ["-u", "postgres", "--", path.join(binaries(), "pg_ctl"), "-D", this.data, "-m", "immediate", "-w", "stop"], { stdio: "pipe" });
    } catch {
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : 0;
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function userOf(name: string): { uid: number; gid: number } {
  const [uid, gid] = execFileSync("id", ["-u", name], { encoding: "utf8" }).trim().split("\n").concat(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
  return { uid: Number(uid), gid: Number(gid) };
}
