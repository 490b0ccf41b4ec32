// Compiled, never run (tsc --noEmit, see test/tsconfig.json): the typed surface must accept
// what the OpenAPI document allows and reject what it does not. A `@ts-expect-error` that
// stops failing breaks the build of this file.
import { Gatehouse, GatehouseError } from "../dist/index.js";
import type { Verdict } from "../dist/index.js";
import { gatehouseExpress } from "../dist/express.js";
import { gatehouseHono } from "../dist/hono.js";
import type { GatehouseEnv } from "../dist/hono.js";
import { Hono } from "hono";
import express from "express";

const gatehouse = new Gatehouse({ baseUrl: "http://127.0.0.1:5080", apiKey: "gk_example" });

export async function typedMethods(orgId: string): Promise<string[]> {
  const issued = await gatehouse.keys.create(orgId, { name: "ci", permissions: ["docs:read"], ratelimits: [{ name: "requests", limit: 10, durationMs: 1000 }] });
  const secret: string = issued.key;
  const verdict: Verdict = await gatehouse.keys.verify({ key: secret, permissions: "docs:read AND docs:write" });
  const page = await gatehouse.keys.list(orgId, { limit: 20, enabled: true, q: "ci", sort: "-createdAt" });
  const total: number = page.pagination.total;
  const names: string[] = page.data.map((key) => key.name);
  const revealed = await gatehouse.credentials.reveal(orgId, "github");
  const credentialName: string | undefined = revealed[0]?.credential.name;

  // @ts-expect-error: a key's name is a string
  await gatehouse.keys.create(orgId, { name: 5, permissions: [] });
  // @ts-expect-error: limit is a number
  await gatehouse.keys.list(orgId, { limit: "20" });
  // @ts-expect-error: the list has no such filter
  await gatehouse.keys.list(orgId, { colour: "red" });

  return [verdict.code, String(total), ...names, credentialName ?? ""];
}

export async function genericRequest(orgId: string): Promise<number> {
  const permissions = await gatehouse.request("GET", "/api/v1/permissions", {});
  const key = await gatehouse.request("GET", "/api/v1/orgs/{orgId}/api-keys/{keyId}", { path: { orgId, keyId: "key_1" } });
  const keyName: string = key.data.name;

  // @ts-expect-error: the path parameters are required
  await gatehouse.request("GET", "/api/v1/orgs/{orgId}/api-keys/{keyId}", {});
  // @ts-expect-error: the route answers no PUT
  await gatehouse.request("PUT", "/api/v1/orgs/{orgId}/api-keys/{keyId}", { path: { orgId, keyId: "key_1" } });
  // @ts-expect-error: no such route
  await gatehouse.request("GET", "/api/v1/nowhere", {});

  return keyName.length + (Array.isArray(permissions.data) ? 1 : 0);
}

export function errors(error: unknown): string | undefined {
  if (error instanceof GatehouseError) return `${error.code} ${error.status} ${error.requestId ?? ""} ${JSON.stringify(error.details)}`;
  return undefined;
}

export function middleware(): void {
  const app = express();
  app.get("/documents", gatehouseExpress({ baseUrl: "http://127.0.0.1:5080", apiKey: "gk_verify", permissions: "docs:read" }), (request, response) => {
    const verdict: Verdict | null | undefined = request.gatehouse;
    response.json({ caller: verdict?.keyId ?? null });
  });

  const hono = new Hono<GatehouseEnv>();
  hono.use("/documents/*", gatehouseHono({ baseUrl: "http://127.0.0.1:5080", apiKey: "gk_verify", cacheTtlMs: 5_000 }));
  hono.get("/documents", (c) => c.json({ caller: c.get("gatehouse")?.keyId ?? null }));
}
