// The Express middleware, through the example app (examples/express-api), and the Hono
// middleware, through app.request(), against a real Gatehouse: callers' keys are verified with
// the route's permission query and refused with the verdict's code.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Hono } from "hono";
import { Gatehouse } from "../dist/index.js";
import { gatehouseHono } from "../dist/hono.js";
import { createApp } from "../../../examples/express-api/app.js";
import { startGatehouse, unreachableUrl } from "./gatehouse-server.mjs";

let server;
let root;
let orgId;
const keys = {};

before(async () => {
  server = await startGatehouse();
  root = new Gatehouse({ baseUrl: server.baseUrl, apiKey: server.rootKey });
  orgId = (await root.orgs.create({ name: "SDK middleware tests" })).id;
  const issue = async (name, permissions, extra = {}) => (await root.keys.create(orgId, { name, permissions, ...extra })).key;
  keys.verifier = await issue("middleware", ["api_keys:verify"]);
  keys.reader = await issue("reader", ["docs:read"]);
  keys.editor = await issue("editor", ["docs:read", "docs:write", "docs:delete"]);
  keys.nobody = await issue("nobody", []);
  const otherOrg = (await root.orgs.create({ name: "SDK middleware tests, other" })).id;
  keys.otherOrgReader = (await root.keys.create(otherOrg, { name: "reader elsewhere", permissions: ["docs:read"] })).key;
});

after(async () => {
  await server?.stop();
});

async function listen(app) {
  const listener = await new Promise((resolve) => {
    const started = app.listen(0, "127.0.0.1", () => resolve(started));
  });
  return { url: `http://127.0.0.1:${listener.address().port}`, close: () => new Promise((resolve) => listener.close(resolve)) };
}

async function call(url, init = {}) {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describe("Express (the example app)", () => {
  let example;
  before(async () => {
    example = await listen(createApp({ baseUrl: server.baseUrl, apiKey: keys.verifier }));
  });
  after(async () => {
    await example?.close();
  });

  test("the public route needs no key", async () => {
    const answer = await call(`${example.url}/status`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { status: "ok" });
  });

  test("a request without a key is 401 MISSING_API_KEY", async () => {
    const answer = await call(`${example.url}/documents`);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error.code, "MISSING_API_KEY");
    assert.equal(answer.headers.get("www-authenticate"), "Bearer");
  });

  test("a key without the permission is 403 INSUFFICIENT_PERMISSIONS", async () => {
    const answer = await call(`${example.url}/documents`, { headers: { "X-API-Key": keys.nobody } });
    assert.equal(answer.status, 403);
    assert.deepEqual(answer.body, { success: false, error: { code: "INSUFFICIENT_PERMISSIONS", message: "The API key may not do this" } });
  });

  test("a key with the permission gets through, in X-API-Key or as a Bearer token, and the verdict reaches the handler", async () => {
    const inHeader = await call(`${example.url}/documents`, { headers: { "X-API-Key": keys.reader } });
    assert.equal(inHeader.status, 200);
    assert.match(inHeader.body.caller, /^key_/);
    assert.deepEqual(inHeader.body.documents.map((document) => document.id), ["doc_1"]);

    const asBearer = await call(`${example.url}/documents`, { headers: { Authorization: `Bearer ${keys.reader}` } });
    assert.equal(asBearer.status, 200);
    assert.equal(asBearer.body.caller, inHeader.body.caller);
  });

  test("the permission query route lets only a key that satisfies the whole query through", async () => {
    const reader = await call(`${example.url}/documents/doc_1`, { method: "DELETE", headers: { "X-API-Key": keys.reader } });
    assert.equal(reader.status, 403);
    const editor = await call(`${example.url}/documents/doc_1`, { method: "DELETE", headers: { "X-API-Key": keys.editor } });
    assert.equal(editor.status, 200);
    assert.deepEqual(editor.body, { deleted: true });
  });

  test("revoked, unknown and other organizations' keys are 401 with the verdict's code", async () => {
    const issued = await root.keys.create(orgId, { name: "soon revoked", permissions: ["docs:read"] });
    await root.keys.revoke(orgId, issued.id);
    const revoked = await call(`${example.url}/documents`, { headers: { "X-API-Key": issued.key } });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.error.code, "REVOKED");

    const foreign = await call(`${example.url}/documents`, { headers: { "X-API-Key": keys.otherOrgReader } });
    assert.equal(foreign.status, 401);
    assert.equal(foreign.body.error.code, "NOT_FOUND");
  });

  test("a key over its rate limit is 429 RATE_LIMITED with Retry-After", async () => {
    const limited = await root.keys.create(orgId, { name: "limited", permissions: ["docs:read"], ratelimits: [{ name: "requests", limit: 1, durationMs: 60_000 }] });
    const first = await call(`${example.url}/documents`, { headers: { "X-API-Key": limited.key } });
    assert.equal(first.status, 200);
    const second = await call(`${example.url}/documents`, { headers: { "X-API-Key": limited.key } });
    assert.equal(second.status, 429);
    assert.equal(second.body.error.code, "RATE_LIMITED");
    // Seconds until the exceeded window resets, as the verdict's resetAt says.
    assert.match(second.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
  });

  test("Gatehouse down is 503, or the request goes through unverified with failOpen", async () => {
    const down = await unreachableUrl();
    const closed = await listen(createApp({ baseUrl: down, apiKey: keys.verifier }));
    const open = await listen(createApp({ baseUrl: down, apiKey: keys.verifier, failOpen: true }));
    try {
      const refused = await call(`${closed.url}/documents`, { headers: { "X-API-Key": keys.reader } });
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, "SERVICE_UNAVAILABLE");

      const through = await call(`${open.url}/documents`, { headers: { "X-API-Key": keys.reader } });
      assert.equal(through.status, 200);
      assert.equal(through.body.caller, null);
    } finally {
      await closed.close();
      await open.close();
    }
  });

  test("a middleware whose own key Gatehouse refuses answers 500 and never fails open", async () => {
    const misconfigured = await listen(createApp({ baseUrl: server.baseUrl, apiKey: keys.reader, failOpen: true }));
    try {
      const answer = await call(`${misconfigured.url}/documents`, { headers: { "X-API-Key": keys.reader } });
      assert.equal(answer.status, 500);
      assert.equal(answer.body.error.code, "INTERNAL_ERROR");
    } finally {
      await misconfigured.close();
    }
  });
});

describe("Hono", () => {
  function honoApp(options) {
    const app = new Hono();
    app.use("/documents/*", gatehouseHono({ baseUrl: server.baseUrl, apiKey: keys.verifier, permissions: "docs:read", ...options }));
    app.get("/documents/list", (c) => c.json({ caller: c.get("gatehouse")?.keyId ?? null }));
    return app;
  }

  test("missing key 401, insufficient 403, good 200 with the verdict in the context", async () => {
    const app = honoApp();
    const missing = await app.request("/documents/list");
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).error.code, "MISSING_API_KEY");

    const insufficient = await app.request("/documents/list", { headers: { "X-API-Key": keys.nobody } });
    assert.equal(insufficient.status, 403);
    assert.equal((await insufficient.json()).error.code, "INSUFFICIENT_PERMISSIONS");

    const good = await app.request("/documents/list", { headers: { Authorization: `Bearer ${keys.reader}` } });
    assert.equal(good.status, 200);
    assert.match((await good.json()).caller, /^key_/);
  });

  test("a custom header name is read", async () => {
    const app = honoApp({ header: "X-Documents-Key" });
    const answer = await app.request("/documents/list", { headers: { "X-Documents-Key": keys.reader } });
    assert.equal(answer.status, 200);
  });

  test("Gatehouse down is 503, or through unverified with failOpen", async () => {
    const down = await unreachableUrl();
    const refused = await honoApp({ baseUrl: down }).request("/documents/list", { headers: { "X-API-Key": keys.reader } });
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).error.code, "SERVICE_UNAVAILABLE");

    const through = await honoApp({ baseUrl: down, failOpen: true }).request("/documents/list", { headers: { "X-API-Key": keys.reader } });
    assert.equal(through.status, 200);
    assert.deepEqual(await through.json(), { caller: null });
  });

  test("a cached verdict is reused within its TTL; without the cache the next request sees the change", async () => {
    const issued = await root.keys.create(orgId, { name: "cached", permissions: ["docs:read"] });
    const cached = honoApp({ cacheTtlMs: 60_000 });
    const uncached = honoApp();
    const headers = { "X-API-Key": issued.key };
    assert.equal((await cached.request("/documents/list", { headers })).status, 200);

    await root.keys.revoke(orgId, issued.id);

    assert.equal((await cached.request("/documents/list", { headers })).status, 200);
    const fresh = await uncached.request("/documents/list", { headers });
    assert.equal(fresh.status, 401);
    assert.equal((await fresh.json()).error.code, "REVOKED");
  });
});
