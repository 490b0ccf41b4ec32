import { ClientErrorCodes, GatehouseError } from "./errors.js";
import type { components, paths } from "./schema.js";
import { randomId } from "./webcrypto.js";

export type Schemas = components["schemas"];
export type ResponseMeta = Schemas["ResponseMeta"];
export type Pagination = Schemas["Pagination"];

/** The HTTP methods of the API. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

type OperationOf<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][Lowercase<M> & keyof paths[P]]>;

/** Every documented path that answers `M`. */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: [OperationOf<P, M>] extends [never] ? never : P;
}[keyof paths];

type ParametersOf<O> = O extends { parameters: infer Parameters } ? Parameters : never;

type PathPart<O> = ParametersOf<O> extends { path: infer Path } ? { path: Path } : { path?: undefined };

type QueryPart<O> =
  ParametersOf<O> extends { query?: infer Query }
    ? [Query] extends [never] | [undefined]
      ? { query?: undefined }
      : { query?: Query }
    : { query?: undefined };

type BodyPart<O> = O extends { requestBody: { content: { "application/json": infer Body } } }
  ? { body: Body }
  : O extends { requestBody?: { content: { "application/json": infer Body } } }
    ? { body?: Body }
    : { body?: undefined };

type SuccessEnvelopeOf<O> = O extends { responses: infer Responses }
  ? {
      [Status in keyof Responses]: Status extends 200 | 201 | 202
        ? Responses[Status] extends { content: { "application/json": infer Envelope } }
          ? Envelope
          : never
        : never;
    }[keyof Responses]
  : never;

type DataOf<O> = SuccessEnvelopeOf<O> extends { data: infer Data } ? Data : undefined;

/** What one call can carry besides its parameters and body. */
export interface CallOptions {
  /** Cancels the call, its retries and the waits between them. */
  signal?: AbortSignal | undefined;
  /** Overrides the client's `timeoutMs` for each attempt of this call. */
  timeoutMs?: number | undefined;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number | undefined;
  /**
   * For a POST: the `Idempotency-Key` to send (one is generated when absent), or `false` to
   * send none. The same key goes with every retry of the call, so the server runs it once.
   */
  idempotencyKey?: string | false | undefined;
  /** Extra request headers (`X-Request-Id`, say). */
  headers?: Record<string, string> | undefined;
}

/** The options of {@link Gatehouse.request} for one operation: typed path, query and body. */
export type RequestOptions<P extends keyof paths, M extends HttpMethod> = PathPart<OperationOf<P, M>> &
  QueryPart<OperationOf<P, M>> &
  BodyPart<OperationOf<P, M>> &
  CallOptions;

/** An envelope without `success`: the data and the response's `meta`. */
export interface ApiResult<Data> {
  data: Data;
  meta: ResponseMeta;
  status: number;
  headers: Headers;
}

/** One page of a list: the items and where they sit in the whole. */
export interface Page<Item> {
  data: Item[];
  pagination: Pagination;
  requestId: string;
}

/** What a retry is about to happen for: logged by `onRetry`, used by the tests. */
export interface RetryEvent {
  method: HttpMethod;
  path: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** The status that caused it (429, 503), or undefined after a network failure or timeout. */
  status: number | undefined;
  /** The `Idempotency-Key` that the retry carries (POST only). */
  idempotencyKey: string | undefined;
}

export interface GatehouseOptions {
  /** Where the server listens, such as `https://gatehouse.example.com` (no `/api/v1`). */
  baseUrl: string;
  /** The API key (or access token) the client authenticates with, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Retries after a 429, a 503, a network failure or a timeout; default 2. */
  maxRetries?: number | undefined;
  /** Time allowed for each attempt, in milliseconds; default 10 000. */
  timeoutMs?: number | undefined;
  /** A `Retry-After` longer than this (ms) is not waited for: the call fails at once; default 60 000. */
  maxRetryAfterMs?: number | undefined;
  /** Base of the exponential backoff (ms) when the server names no `Retry-After`; default 250. */
  backoffBaseMs?: number | undefined;
  /** Replaces the global `fetch` (a proxy agent, a test double). */
  fetch?: typeof fetch | undefined;
  /** Called before each retry. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

const maxBackoffMs = 8_000;

/**
 * A client of the Gatehouse API: typed methods for keys, organizations, roles, credentials,
 * webhooks and the audit log, and {@link Gatehouse.request} for every other documented route.
 * Successful envelopes are unwrapped into their `data`; failures throw {@link GatehouseError}.
 */
export class Gatehouse {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #maxRetries: number;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #backoffBaseMs: number;
  readonly #fetch: typeof fetch;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(options: GatehouseOptions) {
    if (!options.baseUrl) throw new TypeError("baseUrl is required");
    if (!options.apiKey) throw new TypeError("apiKey is required");
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#maxRetries = nonNegative(options.maxRetries, 2, "maxRetries");
    this.#timeoutMs = nonNegative(options.timeoutMs, 10_000, "timeoutMs");
    this.#maxRetryAfterMs = nonNegative(options.maxRetryAfterMs, 60_000, "maxRetryAfterMs");
    this.#backoffBaseMs = nonNegative(options.backoffBaseMs, 250, "backoffBaseMs");
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#onRetry = options.onRetry;
    if (typeof this.#fetch !== "function") throw new TypeError("no fetch: Node 18 or later is required");
  }

  /** API keys: issue, list, read, change, rotate, revoke and verify. */
  readonly keys = {
    create: (orgId: string, body: Schemas["CreateApiKeyRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/api-keys", { path: { orgId }, body, ...options }),
    list: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/api-keys">, options?: CallOptions) =>
      this.#page<Schemas["ApiKeyView"]>("/api/v1/orgs/{orgId}/api-keys", { path: { orgId }, query, ...options }),
    get: (orgId: string, keyId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/api-keys/{keyId}", { path: { orgId, keyId }, ...options }),
    update: (orgId: string, keyId: string, body: Schemas["UpdateApiKeyRequest"], options?: CallOptions) =>
      this.#data("PATCH", "/api/v1/orgs/{orgId}/api-keys/{keyId}", { path: { orgId, keyId }, body, ...options }),
    rotate: (orgId: string, keyId: string, body?: Schemas["RotateApiKeyRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/api-keys/{keyId}/rotate", { path: { orgId, keyId }, body: body ?? {}, ...options }),
    revoke: (orgId: string, keyId: string, options?: CallOptions) =>
      this.#data("DELETE", "/api/v1/orgs/{orgId}/api-keys/{keyId}", { path: { orgId, keyId }, ...options }),
    /** The verdict on a key: always resolves for a well-formed request, `valid` says the rest. */
    verify: (body: Schemas["VerifyApiKeyRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/keys/verify", { body, ...options }),
  };

  /** Organizations (creating and listing all of them needs the root key). */
  readonly orgs = {
    create: (body: Schemas["CreateOrgRequest"], options?: CallOptions) => this.#data("POST", "/api/v1/orgs", { body, ...options }),
    list: (query?: ListQuery<"/api/v1/orgs">, options?: CallOptions) =>
      this.#page<Schemas["OrgView"]>("/api/v1/orgs", { query, ...options }),
    get: (orgId: string, options?: CallOptions) => this.#data("GET", "/api/v1/orgs/{orgId}", { path: { orgId }, ...options }),
    update: (orgId: string, body: Schemas["UpdateOrgRequest"], options?: CallOptions) =>
      this.#data("PATCH", "/api/v1/orgs/{orgId}", { path: { orgId }, body, ...options }),
    delete: (orgId: string, options?: CallOptions) => this.#data("DELETE", "/api/v1/orgs/{orgId}", { path: { orgId }, ...options }),
  };

  /** Roles: named sets of permissions that keys can hold. */
  readonly roles = {
    create: (orgId: string, body: Schemas["CreateRoleRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/roles", { path: { orgId }, body, ...options }),
    list: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/roles">, options?: CallOptions) =>
      this.#page<Schemas["RoleView"]>("/api/v1/orgs/{orgId}/roles", { path: { orgId }, query, ...options }),
    get: (orgId: string, roleId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/roles/{roleId}", { path: { orgId, roleId }, ...options }),
    update: (orgId: string, roleId: string, body: Schemas["UpdateRoleRequest"], options?: CallOptions) =>
      this.#data("PATCH", "/api/v1/orgs/{orgId}/roles/{roleId}", { path: { orgId, roleId }, body, ...options }),
    delete: (orgId: string, roleId: string, options?: CallOptions) =>
      this.#data("DELETE", "/api/v1/orgs/{orgId}/roles/{roleId}", { path: { orgId, roleId }, ...options }),
  };

  /** The credentials vault: store a secret, list metadata, reveal (audited). */
  readonly credentials = {
    put: (orgId: string, body: Schemas["CreateCredentialRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/credentials", { path: { orgId }, body, ...options }),
    list: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/credentials">, options?: CallOptions) =>
      this.#page<Schemas["CredentialView"]>("/api/v1/orgs/{orgId}/credentials", { path: { orgId }, query, ...options }),
    reveal: (orgId: string, integrationId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/credentials/{integrationId}", { path: { orgId, integrationId }, ...options }),
  };

  /** Webhook endpoints (the signing secret is returned by create and rotateSecret only). */
  readonly webhooks = {
    create: (orgId: string, body: Schemas["CreateWebhookRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/webhooks", { path: { orgId }, body, ...options }),
    list: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/webhooks">, options?: CallOptions) =>
      this.#page<Schemas["WebhookView"]>("/api/v1/orgs/{orgId}/webhooks", { path: { orgId }, query, ...options }),
    get: (orgId: string, webhookId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/webhooks/{webhookId}", { path: { orgId, webhookId }, ...options }),
    update: (orgId: string, webhookId: string, body: Schemas["UpdateWebhookRequest"], options?: CallOptions) =>
      this.#data("PATCH", "/api/v1/orgs/{orgId}/webhooks/{webhookId}", { path: { orgId, webhookId }, body, ...options }),
    delete: (orgId: string, webhookId: string, options?: CallOptions) =>
      this.#data("DELETE", "/api/v1/orgs/{orgId}/webhooks/{webhookId}", { path: { orgId, webhookId }, ...options }),
    rotateSecret: (orgId: string, webhookId: string, body?: Schemas["RotateWebhookSecretRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret", {
        path: { orgId, webhookId },
        body: body ?? {},
        ...options,
      }),
  };

  /**
   * Device verification, the app backend's side: make the hosted page's URL, exchange the token the
   * page brings back, renew sessions; device apps, devices and device-bound sessions. The browser's
   * side is the agent script (`/device/agent.js`, also shipped as `@gatehouse/sdk/agent.js`).
   */
  readonly devices = {
    /** Where to send the user's browser; the page comes back to `redirectUrl` with `?token=…&requestId=…`. */
    generateAuthUrl: (body: Schemas["DeviceAuthUrlRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/device-auth/url", { body, ...options }),
    /** Accepts the page's one-time token once: the device, whether it is new, and a device-bound session. */
    verifyToken: (body: Schemas["DeviceAuthVerifyRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/device-auth/verify", { body, ...options }),
    /** Renews a session with its refresh token; the old refresh token stops working. */
    refreshToken: (body: Schemas["DeviceAuthRefreshRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/device-auth/refresh", { body, ...options }),
    createApp: (orgId: string, body: Schemas["CreateDeviceAppRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/device-apps", { path: { orgId }, body, ...options }),
    listApps: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/device-apps">, options?: CallOptions) =>
      this.#page<Schemas["DeviceAppView"]>("/api/v1/orgs/{orgId}/device-apps", { path: { orgId }, query, ...options }),
    getApp: (orgId: string, appId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/device-apps/{appId}", { path: { orgId, appId }, ...options }),
    updateApp: (orgId: string, appId: string, body: Schemas["UpdateDeviceAppRequest"], options?: CallOptions) =>
      this.#data("PATCH", "/api/v1/orgs/{orgId}/device-apps/{appId}", { path: { orgId, appId }, body, ...options }),
    deleteApp: (orgId: string, appId: string, options?: CallOptions) =>
      this.#data("DELETE", "/api/v1/orgs/{orgId}/device-apps/{appId}", { path: { orgId, appId }, ...options }),
    /** Registers a device server to server, with its public key (a JWK). */
    register: (orgId: string, body: Schemas["RegisterDeviceRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/devices", { path: { orgId }, body, ...options }),
    list: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/devices">, options?: CallOptions) =>
      this.#page<Schemas["DeviceView"]>("/api/v1/orgs/{orgId}/devices", { path: { orgId }, query, ...options }),
    get: (orgId: string, deviceId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/devices/{deviceId}", { path: { orgId, deviceId }, ...options }),
    /** Revokes the device and ends its sessions at once. */
    revoke: (orgId: string, deviceId: string, options?: CallOptions) =>
      this.#data("DELETE", "/api/v1/orgs/{orgId}/devices/{deviceId}", { path: { orgId, deviceId }, ...options }),
    createSession: (orgId: string, body: Schemas["CreateDeviceSessionRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/sessions", { path: { orgId }, body, ...options }),
    getSession: (orgId: string, sessionId: string, options?: CallOptions) =>
      this.#data("GET", "/api/v1/orgs/{orgId}/sessions/{sessionId}", { path: { orgId, sessionId }, ...options }),
    /** `valid: false` (with its `reason`) is an answer, not an error; a device-bound session needs the agent's proof. */
    validateSession: (orgId: string, sessionId: string, body: Schemas["ValidateDeviceSessionRequest"], options?: CallOptions) =>
      this.#data("POST", "/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", { path: { orgId, sessionId }, body, ...options }),
    endSession: (orgId: string, sessionId: string, options?: CallOptions) =>
      this.#data("DELETE", "/api/v1/orgs/{orgId}/sessions/{sessionId}", { path: { orgId, sessionId }, ...options }),
  };

  /** The organization's audit trail. */
  readonly audit = {
    list: (orgId: string, query?: ListQuery<"/api/v1/orgs/{orgId}/audit-logs">, options?: CallOptions) =>
      this.#page<Schemas["AuditEventView"]>("/api/v1/orgs/{orgId}/audit-logs", { path: { orgId }, query, ...options }),
  };

  /**
   * Any documented route, typed from the OpenAPI document: path parameters, query and body are
   * checked against the operation, and the result carries the operation's `data`.
   *
   * ```ts
   * const { data } = await gatehouse.request("GET", "/api/v1/orgs/{orgId}/stats", { path: { orgId } });
   * ```
   */
  async request<M extends HttpMethod, P extends PathsWith<M>>(
    method: M,
    path: P,
    options: RequestOptions<P, M>,
  ): Promise<ApiResult<DataOf<OperationOf<P, M>>>> {
    const untyped = options as UntypedOptions;
    const url = this.#url(path, untyped.path, untyped.query);
    const { envelope, status, headers } = await this.#send(method, path, url, untyped);
    return { data: envelope.data as DataOf<OperationOf<P, M>>, meta: envelope.meta, status, headers };
  }

  async #data<M extends HttpMethod, P extends PathsWith<M>>(method: M, path: P, options: RequestOptions<P, M>) {
    return (await this.request(method, path, options)).data;
  }

  async #page<Item>(path: PathsWith<"GET">, options: UntypedOptions): Promise<Page<Item>> {
    const { data, meta } = await this.request("GET", path, options as RequestOptions<typeof path, "GET">);
    if (!Array.isArray(data) || !meta.pagination) {
      throw new GatehouseError({ code: ClientErrorCodes.unexpectedResponse, message: `GET ${path} answered no list`, status: 200, requestId: meta.requestId });
    }
    return { data: data as Item[], pagination: meta.pagination, requestId: meta.requestId };
  }

  #url(template: string, pathParameters: Record<string, unknown> | undefined, query: Record<string, unknown> | undefined): string {
    const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = pathParameters?.[name];
      if (value === undefined || value === null || value === "") throw new TypeError(`path parameter ${name} is required`);
      return encodeURIComponent(String(value));
    });
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null) search.append(name, String(item));
      }
    }
    const queryString = search.toString();
    return `${this.#baseUrl}${path}${queryString ? `?${queryString}` : ""}`;
  }

  async #send(method: HttpMethod, path: string, url: string, options: UntypedOptions): Promise<Answer> {
    const maxRetries = nonNegative(options.maxRetries, this.#maxRetries, "maxRetries");
    const timeoutMs = nonNegative(options.timeoutMs, this.#timeoutMs, "timeoutMs");
    const idempotencyKey =
      method === "POST" && options.idempotencyKey !== false ? (options.idempotencyKey ?? `sdk_${await randomId()}`) : undefined;

    // Headers (not a plain object) so that a caller's "authorization" cannot sit beside ours.
    const headers = new Headers(options.headers);
    headers.set("Accept", "application/json");
    headers.set("Authorization", `Bearer ${this.#apiKey}`);
    let body: string | undefined;
    if (options.body !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(options.body);
    }
    if (idempotencyKey !== undefined) headers.set("Idempotency-Key", idempotencyKey);

    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(method, url, headers, body, timeoutMs, options.signal);
      const retryable = outcome.kind === "failure" || outcome.status === 429 || outcome.status === 503;
      if (!retryable || attempt >= maxRetries) return this.#settle(method, path, outcome);

      const retryAfterMs = outcome.kind === "answer" ? parseRetryAfter(outcome.headers.get("Retry-After")) : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > this.#maxRetryAfterMs) return this.#settle(method, path, outcome);
      const delayMs = retryAfterMs ?? this.#backoff(attempt);
      this.#onRetry?.({
        method,
        path,
        attempt: attempt + 1,
        delayMs,
        status: outcome.kind === "answer" ? outcome.status : undefined,
        idempotencyKey,
      });
      await sleep(delayMs, options.signal);
    }
  }

  async #attempt(
    method: HttpMethod,
    url: string,
    headers: Headers,
    body: string | undefined,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<Attempt> {
    callerSignal?.throwIfAborted();
    // AbortSignal.any arrived in Node 20.3; one controller fed by both sources works on Node 18.
    const controller = new AbortController();
    let timedOut = false;
    const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs) : undefined;
    const forwardAbort = () => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener("abort", forwardAbort, { once: true });
    try {
      const response = await this.#fetch(url, { method, headers, body: body ?? null, signal: controller.signal });
      const text = await response.text();
      return { kind: "answer", status: response.status, headers: response.headers, text };
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      return { kind: "failure", timedOut, error };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", forwardAbort);
    }
  }

  #settle(method: HttpMethod, path: string, outcome: Attempt): Answer {
    if (outcome.kind === "failure") {
      throw new GatehouseError({
        code: outcome.timedOut ? ClientErrorCodes.timeout : ClientErrorCodes.networkError,
        message: outcome.timedOut ? `${method} ${path}: no answer in time` : `${method} ${path}: Gatehouse could not be reached`,
        status: 0,
        cause: outcome.error,
      });
    }
    const requestIdHeader = outcome.headers.get("X-Request-Id") ?? undefined;
    const envelope = parseEnvelope(outcome.text);
    if (envelope?.success === true && outcome.status < 300) {
      return { envelope: envelope as SuccessEnvelope, status: outcome.status, headers: outcome.headers };
    }
    const retryAfterMs = parseRetryAfter(outcome.headers.get("Retry-After"));
    const error = envelope?.success === false ? envelope.error : undefined;
    throw new GatehouseError({
      code: error?.code ?? ClientErrorCodes.unexpectedResponse,
      message: error?.message ?? `${method} ${path} answered ${outcome.status} without a Gatehouse envelope`,
      status: outcome.status,
      requestId: envelope?.meta?.requestId ?? requestIdHeader,
      details: error?.details ?? undefined,
      retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
    });
  }

  // Exponential backoff with "equal jitter": half the step is fixed, half random, so that many
  // clients turned away at once do not come back at once.
  #backoff(attempt: number): number {
    const step = Math.min(maxBackoffMs, this.#backoffBaseMs * 2 ** attempt);
    return Math.round(step / 2 + Math.random() * (step / 2));
  }
}

/** The query of a list route, as the document declares it. */
export type ListQuery<P extends PathsWith<"GET">> = NonNullable<RequestOptions<P, "GET">["query"]>;

interface UntypedOptions extends CallOptions {
  path?: Record<string, unknown> | undefined;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
}

type Attempt =
  | { kind: "answer"; status: number; headers: Headers; text: string }
  | { kind: "failure"; timedOut: boolean; error: unknown };

interface SuccessEnvelope {
  success: true;
  data: unknown;
  meta: ResponseMeta;
}

interface Answer {
  envelope: SuccessEnvelope;
  status: number;
  headers: Headers;
}

type AnyEnvelope =
  | SuccessEnvelope
  | { success: false; error?: { code?: string; message?: string; details?: Record<string, unknown> | null }; meta?: { requestId?: string } };

function parseEnvelope(text: string): AnyEnvelope | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && "success" in parsed ? (parsed as AnyEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}
