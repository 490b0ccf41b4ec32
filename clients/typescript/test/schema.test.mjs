// The committed schema.d.ts is a snapshot of the server's OpenAPI document. This test generates
// the types afresh from the running server and compiles the SDK's sources against them, so a
// change of the contract that breaks a wrapped route fails here, while routes added since the
// snapshot do not (run `npm run generate` to pick those up).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { startGatehouse } from "./gatehouse-server.mjs";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));
// Inside the package, so that node_modules (types of node, express, hono) resolve as for src/.
const scratch = join(packageDir, ".schema-check");
let server;

before(async () => {
  server = await startGatehouse();
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, "src"), { recursive: true });
});

after(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await server?.stop();
});

test("the SDK compiles against types generated from the running server's document", async () => {
  const response = await fetch(`${server.baseUrl}/api/v1/openapi.json`);
  assert.equal(response.status, 200);
  writeFileSync(join(scratch, "openapi.json"), await response.text());

  for (const file of readdirSync(join(packageDir, "src")).filter((name) => name.endsWith(".ts") && name !== "schema.d.ts")) {
    cpSync(join(packageDir, "src", file), join(scratch, "src", file));
  }
  await run(process.execPath, [join(packageDir, "node_modules", "openapi-typescript", "bin", "cli.js"), join(scratch, "openapi.json"), "--output", join(scratch, "src", "schema.d.ts")], { cwd: packageDir });
  writeFileSync(
    join(scratch, "tsconfig.json"),
    JSON.stringify({ extends: "../tsconfig.json", compilerOptions: { noEmit: true, rootDir: "src" }, include: ["src"] }),
  );

  try {
    await run(process.execPath, [join(packageDir, "node_modules", "typescript", "bin", "tsc"), "--project", join(scratch, "tsconfig.json")], { cwd: packageDir });
  } catch (error) {
    assert.fail(`the SDK no longer compiles against the served document:\n${error.stdout}${error.stderr}`);
  }
});
