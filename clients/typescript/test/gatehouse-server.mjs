// Starts a real Gatehouse for the tests: the built server dll under `dotnet`, its own temp
// data dir (SQLite), a root key of our choosing, a free loopback port.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repositoryRoot = fileURLToPath(new URL("../../../", import.meta.url));
const serverDll =
  process.env.GATEHOUSE_SERVER_DLL ?? join(repositoryRoot, "src", "Gatehouse.Server", "bin", "Release", "net10.0", "Gatehouse.Server.dll");

export async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A port nothing listens on: where "Gatehouse is down". */
export const unreachableUrl = async () => `http://127.0.0.1:${await freePort()}`;

/**
 * The Gatehouse of this test run: the one `test/run.mjs` started for every file (it passes it
 * on in GATEHOUSE_TEST_URL and GATEHOUSE_TEST_ROOT_KEY), or, when a file runs alone, its own.
 */
export async function startGatehouse() {
  const shared = process.env.GATEHOUSE_TEST_URL;
  const sharedRootKey = process.env.GATEHOUSE_TEST_ROOT_KEY;
  if (shared && sharedRootKey) return { baseUrl: shared, rootKey: sharedRootKey, stop: async () => {}, output: () => "" };
  return startOwnGatehouse();
}

export async function startOwnGatehouse() {
  if (!existsSync(serverDll)) {
    throw new Error(`${serverDll} is missing: run "dotnet build Gatehouse.slnx -c Release" first (or set GATEHOUSE_SERVER_DLL)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-sdk-tests-"));
  const rootKey = `gkr_sdk_tests_${randomBytes(24).toString("hex")}`;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;

  const environment = { ...process.env };
  // The tests' server is always a fresh SQLite one, whatever the shell points at.
  for (const name of ["GATEHOUSE_DATABASE_URL", "GATEHOUSE_CONFIG", "GATEHOUSE_MASTER_KEY", "ASPNETCORE_URLS"]) delete environment[name];
  Object.assign(environment, {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_ROOT_KEY: rootKey,
    GATEHOUSE_WEBHOOKS_ALLOW_INSECURE: "true",
    DOTNET_NOLOGO: "1",
    DOTNET_CLI_TELEMETRY_OPTOUT: "1",
  });
  const child = spawn("dotnet", [serverDll, "--urls", baseUrl], { env: environment, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };

  // Ready when /health answers; a process that exits first fails the start with its output.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Gatehouse exited with ${child.exitCode} before it was healthy:\n${output}`);
    }
    try {
      const health = await fetch(`${baseUrl}/health`);
      if (health.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Gatehouse did not become healthy:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { baseUrl, rootKey, stop, output: () => output };
}
