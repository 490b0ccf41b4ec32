// The tarball `npm pack` makes installs into an empty project and loads from its three entry
// points there, with neither express nor hono installed: the middleware must not need them at
// run time. Run after `npm run build`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "gatehouse-sdk-pack-"));
try {
  execFileSync(npm, ["pack", "--ignore-scripts", "--pack-destination", scratch], { cwd: packageDir, stdio: "ignore" });
  const tarball = readdirSync(scratch).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack made no tarball");

  const project = join(scratch, "project");
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pack-check", private: true, type: "module" }));
  execFileSync(npm, ["install", "--offline", "--no-audit", "--no-fund", join(scratch, tarball)], { cwd: project, stdio: "ignore" });

  const check = `
    const sdk = await import("@gatehouse/sdk");
    const { gatehouseExpress } = await import("@gatehouse/sdk/express");
    const { gatehouseHono } = await import("@gatehouse/sdk/hono");
    for (const [name, value] of Object.entries({ Gatehouse: sdk.Gatehouse, GatehouseError: sdk.GatehouseError, gatehouseExpress, gatehouseHono })) {
      if (typeof value !== "function") throw new Error(name + " is not exported");
    }
    gatehouseExpress({ baseUrl: "http://127.0.0.1:1", apiKey: "gk_check" });
    const { proxyMiddleware } = await import("@gatehouse/sdk/express");
    if (typeof proxyMiddleware({ baseUrl: "http://127.0.0.1:1" }) !== "function") throw new Error("proxyMiddleware is not exported");
    const { readFileSync } = await import("node:fs");
    const { createRequire } = await import("node:module");
    const agent = readFileSync(createRequire(import.meta.url).resolve("@gatehouse/sdk/agent.js"), "utf8");
    if (!agent.includes("GatehouseAgent")) throw new Error("agent.js is not in the package");
    gatehouseHono({ baseUrl: "http://127.0.0.1:1", apiKey: "gk_check" });`;
  execFileSync(process.execPath, ["--input-type=module", "-e", check], { cwd: project, stdio: "inherit" });
  console.log(`${tarball} installs and loads without express or hono`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
