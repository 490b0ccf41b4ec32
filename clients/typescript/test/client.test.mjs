// The client against a real Gatehouse: every typed method round-trips, failures arrive as
// GatehouseError with the server's code, status, request id and details.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ClientErrorCodes, Gatehouse, GatehouseError } from "../dist/index.js";
import { startGatehouse, unreachableUrl } from "./gatehouse-server.mjs";

let server;
let root;
let orgId;

before(async () => {
  server = await startGatehouse();
  root = new Gatehouse({ baseUrl: server.baseUrl, apiKey: server.rootKey });
  orgId = (await root.orgs.create({ name: "SDK client tests" })).id;
});

after(async () => {
  await server?.stop();
});

/** Runs `call`, which must fail, and returns its GatehouseError. */
async function failureOf(call) {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof GatehouseError, `expected a GatehouseError, got ${error}`);
    return error;
  }
  assert.fail("the call succeeded");
}

describe("organizations", () => {
  test("create, get, list, update and delete round-trip", async () => {
    const created = await root.orgs.create({ name: "Acme", slug: "acme-sdk" });
    assert.match(created.id, /^org_/);
    assert.equal((await root.orgs.get(created.id)).slug, "acme-sdk");

    const page = await root.orgs.list({ limit: 1 });
    assert.equal(page.data.length, 1);
    assert.equal(page.pagination.limit, 1);
    assert.ok(page.pagination.total >= 2);
    assert.equal(page.pagination.hasMore, true);
    assert.match(page.requestId, /\S/);

    assert.equal((await root.orgs.update(created.id, { name: "Acme Corp" })).name, "Acme Corp");
    assert.equal((await root.orgs.delete(created.id)).deleted, true);
    assert.equal((await failureOf(() => root.orgs.get(created.id))).code, "NOT_FOUND");
  });
});

describe("API keys", () => {
  test("a created key is returned once, then listed, read, changed and verified", async () => {
    const issued = await root.keys.create(orgId, { name: "ci deploy", permissions: ["docs:read"], meta: { team: "ci" } });
    assert.match(issued.key, /^gk_/);
    assert.match(issued.id, /^key_/);

    const listed = await root.keys.list(orgId, { q: "ci deploy" });
    assert.deepEqual(listed.data.map((key) => key.id), [issued.id]);
    assert.equal("key" in listed.data[0], false, "a list never carries the secret");

    const read = await root.keys.get(orgId, issued.id);
    assert.equal(read.name, "ci deploy");
    assert.deepEqual(read.meta, { team: "ci" });

    const updated = await root.keys.update(orgId, issued.id, { permissions: ["docs:read", "docs:write"] });
    assert.deepEqual([...updated.permissions].sort(), ["docs:read", "docs:write"]);

    const valid = await root.keys.verify({ key: issued.key, permissions: "docs:read AND docs:write" });
    assert.equal(valid.valid, true);
    assert.equal(valid.code, "VALID");
    assert.equal(valid.keyId, issued.id);

    const short = await root.keys.verify({ key: issued.key, permissions: "admin:docs" });
    assert.equal(short.valid, false);
    assert.equal(short.code, "INSUFFICIENT_PERMISSIONS");
  });

  test("rotate issues a new key and retires the old one; revoke answers REVOKED, then NOT_FOUND", async () => {
    const issued = await root.keys.create(orgId, { name: "rotating", permissions: [] });
    const rotated = await root.keys.rotate(orgId, issued.id);
    assert.notEqual(rotated.id, issued.id);
    assert.notEqual(rotated.key, issued.key);
    assert.equal((await root.keys.verify({ key: rotated.key })).code, "VALID");
    assert.equal((await root.keys.verify({ key: issued.key })).code, "EXPIRED");

    assert.equal((await root.keys.revoke(orgId, rotated.id)).deleted, true);
    assert.equal((await root.keys.verify({ key: rotated.key })).code, "REVOKED");
    const again = await failureOf(() => root.keys.revoke(orgId, rotated.id));
    assert.equal(again.code, "NOT_FOUND");
    assert.equal(again.status, 404);
  });

  test("a POST repeated with the same Idempotency-Key is executed once", async () => {
    const first = await root.keys.create(orgId, { name: "once", permissions: [] }, { idempotencyKey: "sdk-tests-create-once" });
    const replay = await root.keys.create(orgId, { name: "once", permissions: [] }, { idempotencyKey: "sdk-tests-create-once" });
    assert.equal(replay.id, first.id);
    assert.equal((await root.keys.list(orgId, { q: "once" })).pagination.total, 1);

    const conflict = await failureOf(() => root.keys.create(orgId, { name: "other", permissions: [] }, { idempotencyKey: "sdk-tests-create-once" }));
    assert.equal(conflict.code, "CONFLICT");
    assert.equal(conflict.status, 409);
  });
});

describe("roles, credentials, webhooks and audit", () => {
  test("roles round-trip", async () => {
    const role = await root.roles.create(orgId, { name: "reader", permissions: ["docs:read"] });
    assert.match(role.id, /^role_/);
    assert.deepEqual((await root.roles.list(orgId)).data.map((listed) => listed.id), [role.id]);
    assert.equal((await root.roles.get(orgId, role.id)).name, "reader");
    assert.equal((await root.roles.update(orgId, role.id, { description: "reads documents" })).description, "reads documents");
    assert.equal((await root.roles.delete(orgId, role.id)).deleted, true);
  });

  test("a credential is stored, listed without its secret and revealed", async () => {
    const stored = await root.credentials.put(orgId, { integrationId: "github", authType: "bearer_token", name: "bot", data: { token: "ghp_secret" } });
    assert.match(stored.id, /^cred_/);
    const listed = await root.credentials.list(orgId, { integrationId: "github" });
    assert.equal(listed.data.length, 1);
    assert.equal(JSON.stringify(listed.data).includes("ghp_secret"), false);
    const revealed = await root.credentials.reveal(orgId, "github");
    assert.deepEqual(revealed.map((item) => item.data), [{ token: "ghp_secret" }]);
  });

  test("webhook endpoints round-trip and their secret is shown by create and rotate only", async () => {
    const endpoint = await root.webhooks.create(orgId, { url: "http://127.0.0.1:9/hooks", events: ["api_key.created"] });
    assert.match(endpoint.secret, /^whsec_/);
    const listed = await root.webhooks.list(orgId);
    assert.deepEqual(listed.data.map((item) => item.id), [endpoint.id]);
    assert.equal("secret" in (await root.webhooks.get(orgId, endpoint.id)), false);
    assert.equal((await root.webhooks.update(orgId, endpoint.id, { enabled: false })).enabled, false);
    const rotated = await root.webhooks.rotateSecret(orgId, endpoint.id);
    assert.notEqual(rotated.secret, endpoint.secret);
    assert.equal((await root.webhooks.delete(orgId, endpoint.id)).deleted, true);
  });

  test("the audit log lists the organization's changes", async () => {
    const issued = await root.keys.create(orgId, { name: "audited", permissions: [] });
    const events = await root.audit.list(orgId, { action: "api_key.create", targetId: issued.id });
    assert.equal(events.data.length, 1);
    assert.equal(events.data[0].target.id, issued.id);
  });

  test("request() reaches any documented route", async () => {
    const stats = await root.request("GET", "/api/v1/orgs/{orgId}/stats", { path: { orgId } });
    assert.equal(stats.status, 200);
    assert.match(stats.meta.requestId, /\S/);
    assert.equal(typeof stats.data, "object");
    const catalog = await root.request("GET", "/api/v1/permissions", {});
    assert.ok(Array.isArray(catalog.data) && catalog.data.length > 0);
  });
});

describe("GatehouseError", () => {
  test("a rule broken is VALIDATION_FAILED with the fields in details and the request id", async () => {
    const error = await failureOf(() => root.keys.create(orgId, { name: "", permissions: [] }, { headers: { "X-Request-Id": "sdk-tests-422" } }));
    assert.equal(error.code, "VALIDATION_FAILED");
    assert.equal(error.status, 422);
    assert.equal(error.requestId, "sdk-tests-422");
    assert.ok(error.details.fields.some((field) => field.field === "name"));
  });

  test("an unknown field is INVALID_REQUEST", async () => {
    const error = await failureOf(() => root.keys.create(orgId, { name: "typo", permissions: [], remainig: 5 }));
    assert.equal(error.code, "INVALID_REQUEST");
    assert.equal(error.status, 400);
  });

  test("another organization's key is NOT_FOUND and unchanged", async () => {
    const otherOrg = (await root.orgs.create({ name: "Other" })).id;
    const verifyOnly = await root.keys.create(otherOrg, { name: "admin of other", permissions: ["api_keys:read", "api_keys:write"] });
    const other = new Gatehouse({ baseUrl: server.baseUrl, apiKey: verifyOnly.key });
    const mine = await root.keys.create(orgId, { name: "mine", permissions: [] });

    const error = await failureOf(() => other.keys.update(orgId, mine.id, { name: "taken" }));
    assert.equal(error.code, "NOT_FOUND");
    assert.equal(error.status, 404);
    assert.equal((await root.keys.get(orgId, mine.id)).name, "mine");
  });

  test("a key that lacks the permission is FORBIDDEN naming what is required", async () => {
    const reader = await root.keys.create(orgId, { name: "reader", permissions: ["api_keys:read"] });
    const client = new Gatehouse({ baseUrl: server.baseUrl, apiKey: reader.key });
    const error = await failureOf(() => client.keys.create(orgId, { name: "nope", permissions: [] }));
    assert.equal(error.code, "FORBIDDEN");
    assert.equal(error.status, 403);
    assert.ok(JSON.stringify(error.details).includes("api_keys:write"));
  });

  test("an unknown key is refused with 401", async () => {
    const client = new Gatehouse({ baseUrl: server.baseUrl, apiKey: "gk_unknownunknownunknownunknown" });
    const error = await failureOf(() => client.orgs.list());
    assert.equal(error.status, 401);
    assert.ok(["AUTHENTICATION_FAILED", "INVALID_API_KEY"].includes(error.code), error.code);
  });

  test("an unreachable server is NETWORK_ERROR with status 0 after the retries", async () => {
    const retries = [];
    const client = new Gatehouse({ baseUrl: await unreachableUrl(), apiKey: "gk_any", maxRetries: 1, backoffBaseMs: 1, onRetry: (event) => retries.push(event) });
    const error = await failureOf(() => client.orgs.list());
    assert.equal(error.code, ClientErrorCodes.networkError);
    assert.equal(error.status, 0);
    assert.equal(retries.length, 1);
  });
});
