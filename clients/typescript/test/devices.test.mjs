// Device verification through the SDK: the backend calls of `gatehouse.devices`, and the whole
// flow with the agent's part played by Web Crypto through `proxyMiddleware` on an Express app,
// as a browser on the app's origin would run it.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { after, before, describe, test } from "node:test";
import express from "express";
import { Gatehouse, GatehouseError } from "../dist/index.js";
import { proxyMiddleware } from "../dist/express.js";
import { startGatehouse } from "./gatehouse-server.mjs";

let server;
let root;
let orgId;
let app;
let appId;

async function listen(expressApp) {
  const listener = await new Promise((resolve) => {
    const started = expressApp.listen(0, "127.0.0.1", () => resolve(started));
  });
  return { url: `http://127.0.0.1:${listener.address().port}`, close: () => new Promise((resolve) => listener.close(resolve)) };
}

const base64Url = (bytes) => Buffer.from(bytes).toString("base64url");

/** The agent's part: one P-256 key, the challenge, then register (first time) or prove. */
async function passPage(origin, requestId, device) {
  const post = async (path, body) => {
    const response = await fetch(`${origin}/gatehouse/device/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  const challenge = await post("challenge", { request: requestId });
  assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
  const message = new TextEncoder().encode(`gatehouse-device-auth:${requestId}:${challenge.body.nonce}`);
  const signature = base64Url(await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, device.keys.privateKey, message));
  const answer = device.id
    ? await post("prove", { request: requestId, nonce: challenge.body.nonce, deviceId: device.id, signature })
    : await post("register", { request: requestId, nonce: challenge.body.nonce, publicKeyJwk: await webcrypto.subtle.exportKey("jwk", device.keys.publicKey), signature });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  device.id = answer.body.deviceId;
  return new URL(answer.body.redirectUrl).searchParams.get("token");
}

async function failureOf(call) {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof GatehouseError, `expected a GatehouseError, got ${error}`);
    return error;
  }
  assert.fail("the call succeeded");
}

before(async () => {
  server = await startGatehouse();
  root = new Gatehouse({ baseUrl: server.baseUrl, apiKey: server.rootKey });
  orgId = (await root.orgs.create({ name: "SDK device tests" })).id;
  const site = express();
  site.use(proxyMiddleware({ baseUrl: server.baseUrl, path: "/gatehouse" }));
  site.use(express.json());
  site.use((_request, response) => response.status(404).json({ from: "app" }));
  app = await listen(site);
  appId = (await root.devices.createApp(orgId, { name: "sdk app", redirectUrls: [`${app.url}/callback`], allowedOrigins: [app.url] })).id;
});

after(async () => {
  await app?.close();
  await server?.stop();
});

describe("devices", () => {
  test("the flow through the proxy: a new device, recognised again, its session validated, revoked", async () => {
    const device = { keys: await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]), id: undefined };
    const link = await root.devices.generateAuthUrl({ appId, userId: "alice", sessionId: "s1", redirectUrl: `${app.url}/callback` });
    assert.match(link.requestId, /^dar_/);
    const first = await root.devices.verifyToken({ token: await passPage(app.url, link.requestId, device), userId: "alice" });
    assert.equal(first.newDevice, true);
    assert.equal(first.deviceId, device.id);

    const again = await root.devices.generateAuthUrl({ appId, userId: "alice", redirectUrl: `${app.url}/callback` });
    const token = await passPage(app.url, again.requestId, device);
    const second = await root.devices.verifyToken({ token, userId: "alice" });
    assert.equal(second.newDevice, false);
    assert.equal((await failureOf(() => root.devices.verifyToken({ token, userId: "alice" }))).status, 401, "a token works once");

    const refreshed = await root.devices.refreshToken({ refreshToken: second.refreshToken });
    assert.equal(refreshed.session.id, second.session.id);

    const listed = await root.devices.list(orgId, { userId: "alice" });
    assert.deepEqual(listed.data.map((d) => d.id), [device.id]);
    assert.equal((await root.devices.get(orgId, device.id)).id, device.id);
    assert.equal((await root.devices.validateSession(orgId, second.session.id, {})).reason, "proof_required");

    await root.devices.revoke(orgId, device.id);
    assert.equal((await root.devices.getSession(orgId, second.session.id)).status, "ended");
    assert.equal((await root.devices.validateSession(orgId, second.session.id, {})).valid, false);
  });

  test("device apps and server-registered devices round-trip; errors arrive as GatehouseError", async () => {
    const created = await root.devices.createApp(orgId, { name: "second", redirectUrls: ["https://app.example/cb"] });
    assert.equal((await root.devices.getApp(orgId, created.id)).name, "second");
    assert.equal((await root.devices.updateApp(orgId, created.id, { name: "renamed" })).name, "renamed");
    assert.ok((await root.devices.listApps(orgId)).data.some((a) => a.id === created.id));

    const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const { kty, crv, x, y } = await webcrypto.subtle.exportKey("jwk", keys.publicKey);
    const registered = await root.devices.register(orgId, { appId: created.id, userId: "bob", publicKeyJwk: { kty, crv, x, y } });
    const session = await root.devices.createSession(orgId, { userId: "bob", deviceId: registered.id });
    assert.equal((await root.devices.endSession(orgId, session.id)).status, "ended");

    const unregistered = await failureOf(() => root.devices.generateAuthUrl({ appId: created.id, userId: "bob", redirectUrl: "https://evil.example/cb" }));
    assert.equal(unregistered.code, "VALIDATION_FAILED");
    assert.equal((await failureOf(() => root.devices.getApp(orgId, "app_missing"))).status, 404);
    assert.equal((await root.devices.deleteApp(orgId, created.id)).deleted, true);
  });

  test("the proxy forwards the page and the agent, and nothing else", async () => {
    const page = await fetch(`${app.url}/gatehouse/device/auth?request=dar_x`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.match(await page.text(), /src="agent\.js"/);
    const agent = await fetch(`${app.url}/gatehouse/device/agent.js`);
    assert.match(agent.headers.get("content-type") ?? "", /javascript/);
    assert.match(await agent.text(), /GatehouseAgent/);

    const elsewhere = await fetch(`${app.url}/gatehouse/device/challenge`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://elsewhere.example" },
      body: JSON.stringify({ request: "dar_unknown" }),
    });
    assert.ok(elsewhere.status >= 400 && elsewhere.status < 500);
    for (const call of ["register-options", "register", "assert-options", "assert"]) {
      // The WebAuthn calls are forwarded too: Gatehouse's own answer to an unknown request.
      const webauthn = await fetch(`${app.url}/gatehouse/device/webauthn/${call}`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ request: "dar_unknown" }),
      });
      assert.equal(webauthn.status, 404, call);
      assert.equal((await webauthn.json()).error, "unknown_request", call);
    }
    assert.deepEqual(await (await fetch(`${app.url}/gatehouse/api/v1/orgs`)).json(), { from: "app" });
    assert.deepEqual(await (await fetch(`${app.url}/gatehouse/device/register`)).json(), { from: "app" }, "GET of a POST route is not forwarded");
    const huge = await fetch(`${app.url}/gatehouse/device/prove`, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(17 * 1024) });
    assert.equal(huge.status, 413);
  });
});
