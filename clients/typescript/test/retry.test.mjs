// Retries, timeouts, cancellation and the headers of the middleware's verify, against a tiny
// local HTTP server that answers what each test scripts (a 429 once, a stall) and records what
// it was sent. Everything else in these tests runs against a real Gatehouse; only here must the
// failures be made to order.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, beforeEach, describe, test } from "node:test";
import { ClientErrorCodes, createGatekeeper, Gatehouse, GatehouseError } from "../dist/index.js";

const received = [];
let script = [];
let stalled = [];
let baseUrl;
let server;

const envelope = (data) => JSON.stringify({ success: true, data, meta: { requestId: "req_local", timestamp: "2026-12-01T00:00:00Z" } });
const errorEnvelope = (code, message) => JSON.stringify({ success: false, error: { code, message }, meta: { requestId: "req_local_error", timestamp: "2026-12-01T00:00:00Z" } });

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ method: request.method, url: request.url, headers: request.headers, body });
      const next = script.shift() ?? { status: 200, body: envelope({ id: "org_local" }) };
      if (next.stall) {
        stalled.push(response);
        return;
      }
      response.writeHead(next.status, { "Content-Type": next.contentType ?? "application/json", ...next.headers });
      response.end(next.body);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  for (const response of stalled) response.destroy();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  script = [];
});

function client(options = {}) {
  const retries = [];
  const gatehouse = new Gatehouse({ baseUrl, apiKey: "gk_local", backoffBaseMs: 1, onRetry: (event) => retries.push(event), ...options });
  return { gatehouse, retries };
}

async function failureOf(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded");
}

describe("retries", () => {
  test("a 429 is retried after its Retry-After with the same Idempotency-Key", async () => {
    script = [{ status: 429, headers: { "Retry-After": "1" }, body: errorEnvelope("RATE_LIMIT_EXCEEDED", "slow down") }];
    const { gatehouse, retries } = client();

    const org = await gatehouse.orgs.create({ name: "Retried" });

    assert.equal(org.id, "org_local");
    assert.equal(received.length, 2);
    const [first, second] = received;
    assert.match(first.headers["idempotency-key"], /\S/);
    assert.equal(second.headers["idempotency-key"], first.headers["idempotency-key"]);
    assert.equal(second.body, first.body);
    assert.equal(first.headers.authorization, "Bearer gk_local");
    assert.deepEqual(retries.map((retry) => [retry.attempt, retry.status, retry.delayMs, retry.idempotencyKey]), [
      [1, 429, 1000, first.headers["idempotency-key"]],
    ]);
  });

  test("every POST gets its own generated Idempotency-Key, a GET none", async () => {
    const { gatehouse } = client();
    await gatehouse.orgs.create({ name: "One" });
    await gatehouse.orgs.create({ name: "Two" });
    await gatehouse.orgs.get("org_local");
    const [one, two, read] = received;
    assert.notEqual(one.headers["idempotency-key"], two.headers["idempotency-key"]);
    assert.equal(read.headers["idempotency-key"], undefined);
  });

  test("a 503 without Retry-After backs off exponentially with jitter, then gives up with the last error", async () => {
    const unavailable = { status: 503, body: errorEnvelope("SERVICE_UNAVAILABLE", "database down") };
    script = [unavailable, unavailable, unavailable];
    const { gatehouse, retries } = client({ maxRetries: 2, backoffBaseMs: 40 });

    const error = await failureOf(gatehouse.orgs.list());

    assert.ok(error instanceof GatehouseError);
    assert.equal(error.code, "SERVICE_UNAVAILABLE");
    assert.equal(error.status, 503);
    assert.equal(error.requestId, "req_local_error");
    assert.equal(received.length, 3);
    // Equal jitter: step n waits between half and all of base * 2^n.
    assert.ok(retries[0].delayMs >= 20 && retries[0].delayMs <= 40, `first delay ${retries[0].delayMs}`);
    assert.ok(retries[1].delayMs >= 40 && retries[1].delayMs <= 80, `second delay ${retries[1].delayMs}`);
  });

  test("a Retry-After longer than maxRetryAfterMs is not waited for", async () => {
    script = [{ status: 429, headers: { "Retry-After": "3600" }, body: errorEnvelope("RATE_LIMIT_EXCEEDED", "come back in an hour") }];
    const { gatehouse, retries } = client();
    const error = await failureOf(gatehouse.orgs.list());
    assert.equal(error.code, "RATE_LIMIT_EXCEEDED");
    assert.equal(error.retryAfterSeconds, 3600);
    assert.equal(retries.length, 0);
  });

  test("other failures are not retried", async () => {
    script = [{ status: 409, body: errorEnvelope("CONFLICT", "slug taken") }];
    const { gatehouse, retries } = client();
    const error = await failureOf(gatehouse.orgs.create({ name: "Taken" }));
    assert.equal(error.code, "CONFLICT");
    assert.equal(retries.length, 0);
    assert.equal(received.length, 1);
  });

  test("an answer that is no envelope is UNEXPECTED_RESPONSE with its status", async () => {
    script = [{ status: 502, contentType: "text/html", body: "<h1>Bad gateway</h1>" }];
    const { gatehouse } = client();
    const error = await failureOf(gatehouse.orgs.list());
    assert.equal(error.code, ClientErrorCodes.unexpectedResponse);
    assert.equal(error.status, 502);
  });
});

describe("timeouts and cancellation", () => {
  test("an attempt with no answer in timeoutMs fails as TIMEOUT", async () => {
    script = [{ stall: true }];
    const { gatehouse } = client({ timeoutMs: 100, maxRetries: 0 });
    const error = await failureOf(gatehouse.orgs.list());
    assert.equal(error.code, ClientErrorCodes.timeout);
    assert.equal(error.status, 0);
  });

  test("a timed-out POST is retried with the same Idempotency-Key", async () => {
    script = [{ stall: true }];
    const { gatehouse, retries } = client({ timeoutMs: 100, maxRetries: 1 });
    const org = await gatehouse.orgs.create({ name: "Slow" });
    assert.equal(org.id, "org_local");
    assert.equal(received.length, 2);
    assert.equal(received[1].headers["idempotency-key"], received[0].headers["idempotency-key"]);
    assert.equal(retries[0].status, undefined);
  });

  test("the caller's AbortSignal cancels the call with its reason", async () => {
    script = [{ stall: true }];
    const { gatehouse } = client({ timeoutMs: 0 });
    const controller = new AbortController();
    const call = gatehouse.orgs.list(undefined, { signal: controller.signal });
    while (received.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error("caller gave up"));
    const error = await failureOf(call);
    assert.equal(error.message, "caller gave up");
  });

  test("an AbortSignal also cancels the wait before a retry", async () => {
    script = [{ status: 429, headers: { "Retry-After": "30" }, body: errorEnvelope("RATE_LIMIT_EXCEEDED", "wait") }];
    const controller = new AbortController();
    const { gatehouse } = client({ onRetry: () => controller.abort(new Error("stop waiting")) });
    const error = await failureOf(gatehouse.orgs.list(undefined, { signal: controller.signal }));
    assert.equal(error.message, "stop waiting");
    assert.equal(received.length, 1);
  });
});

describe("the middleware's verify request", () => {
  test("carries no Idempotency-Key, passes the caller's X-Request-Id on and is retried once", async () => {
    const verdict = { valid: true, code: "VALID", keyId: "key_local", orgId: "org_local", name: "n", ownerId: null, meta: null, permissions: [], roles: [], expiresAt: null, remaining: null, ratelimits: [] };
    script = [{ status: 503, body: errorEnvelope("SERVICE_UNAVAILABLE", "busy") }, { status: 200, body: envelope(verdict) }];
    const { gatehouse } = client();
    const decide = createGatekeeper({ client: gatehouse, permissions: "docs:read" });
    const headers = { "x-api-key": "gk_caller", "x-request-id": "req_from_caller" };

    const decision = await decide({ header: (name) => headers[name] });

    assert.equal(decision.allow, true);
    assert.equal(decision.verdict.keyId, "key_local");
    assert.equal(received.length, 2);
    for (const request of received) {
      assert.equal(request.url, "/api/v1/keys/verify");
      assert.equal(request.headers["idempotency-key"], undefined);
      assert.equal(request.headers["x-request-id"], "req_from_caller");
      assert.deepEqual(JSON.parse(request.body), { key: "gk_caller", permissions: "docs:read" });
    }
  });
});
