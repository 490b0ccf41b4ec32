import { Gatehouse } from "./client.js";
import type { Schemas } from "./client.js";
import { GatehouseError } from "./errors.js";
import { sha256Hex } from "./webcrypto.js";

/** The verdict of `POST /api/v1/keys/verify` on the caller's key. */
export type Verdict = Schemas["KeyVerdict"];

export interface GatehouseMiddlewareOptions {
  /** Where Gatehouse listens (not needed when `client` is given). */
  baseUrl?: string | undefined;
  /**
   * The key the middleware verifies with: it needs `api_keys:verify` in the organization whose
   * keys it accepts (keys of other organizations verify as NOT_FOUND). Default: the
   * `GATEHOUSE_API_KEY` environment variable.
   */
  apiKey?: string | undefined;
  /** A client to verify through instead of one made from `baseUrl` and `apiKey`. */
  client?: Gatehouse | undefined;
  /** The header carrying the caller's key; `Authorization: Bearer <key>` is read too. Default `x-api-key`. */
  header?: string | undefined;
  /** A permission query the key must satisfy, such as `docs:read AND (docs:write OR admin)`. */
  permissions?: string | undefined;
  /**
   * How long a verdict is reused for the same key, query and address, in milliseconds; default 0
   * (every request is verified). A reused verdict spends no credits and takes no rate-limit
   * unit, and a revocation shows only once it has expired: keep it short.
   */
  cacheTtlMs?: number | undefined;
  /** Let requests through, unverified (`gatehouse` is null), while Gatehouse cannot be reached. Default false: 503. */
  failOpen?: boolean | undefined;
  /** Time allowed for one verification attempt; default 5 000 ms. */
  timeoutMs?: number | undefined;
  /** Retries of a verification after a 429, 503 or network failure; default 1. */
  maxRetries?: number | undefined;
  /** Told about every failure to obtain a verdict (to log it); the answer is 503 or 500 regardless. */
  onError?: ((error: unknown) => void) | undefined;
}

/** What the middleware decided for one request. */
export type Decision =
  | { allow: true; verdict: Verdict | null }
  | { allow: false; status: DenialStatus; body: DenialBody; headers: Record<string, string> };

export type DenialStatus = 401 | 403 | 429 | 500 | 503;

/** The JSON body of a refused request, shaped like a Gatehouse error envelope. */
export interface DenialBody {
  success: false;
  error: { code: string; message: string };
}

/** The parts of an incoming request the decision needs. */
export interface IncomingCredentials {
  header(name: string): string | undefined;
  ip?: string | undefined;
}

/** Codes of refusals that are not a verdict of Gatehouse. */
export const MiddlewareCodes = {
  missingKey: "MISSING_API_KEY",
  unavailable: "SERVICE_UNAVAILABLE",
  misconfigured: "INTERNAL_ERROR",
} as const;

const maxCachedVerdicts = 10_000;

const forbiddenCodes = new Set(["FORBIDDEN", "INSUFFICIENT_PERMISSIONS"]);
const exhaustedCodes = new Set(["RATE_LIMITED", "USAGE_EXCEEDED"]);

/**
 * The framework-free half of the Express and Hono middleware: reads the caller's key, verifies
 * it (or reuses a fresh cached verdict) and turns the verdict into an allow or a refusal.
 */
export function createGatekeeper(options: GatehouseMiddlewareOptions): (request: IncomingCredentials) => Promise<Decision> {
  const client = options.client ?? makeClient(options);
  const header = (options.header ?? "x-api-key").toLowerCase();
  const cacheTtlMs = options.cacheTtlMs ?? 0;
  if (!Number.isFinite(cacheTtlMs) || cacheTtlMs < 0) throw new RangeError("cacheTtlMs must be a non-negative number");
  const cache = new Map<string, { expiresAt: number; verdict: Verdict }>();
  const callOptions = { timeoutMs: options.timeoutMs ?? 5_000, maxRetries: options.maxRetries ?? 1, idempotencyKey: false as const };

  return async (request) => {
    const key = presentedKey(request, header);
    if (key === undefined) {
      return deny(401, MiddlewareCodes.missingKey, "An API key is required", { "WWW-Authenticate": "Bearer" });
    }

    // The cache is keyed by a hash so that no key sits in memory longer than its request.
    const cacheKey = cacheTtlMs > 0 ? await sha256Hex(`${key}\n${options.permissions ?? ""}\n${request.ip ?? ""}`) : undefined;
    const cached = cacheKey === undefined ? undefined : cache.get(cacheKey);
    if (cached !== undefined && cached.expiresAt > Date.now()) return decide(cached.verdict);

    // The caller's request id, when it sent one, lets Gatehouse's logs be joined with this service's.
    const requestId = request.header("x-request-id");
    let verdict: Verdict;
    try {
      verdict = await client.keys.verify(
        { key, ...(options.permissions === undefined ? {} : { permissions: options.permissions }), ...(request.ip ? { ip: request.ip } : {}) },
        requestId && /^[\x21-\x7e]{1,128}$/.test(requestId) ? { ...callOptions, headers: { "X-Request-Id": requestId } } : callOptions,
      );
    } catch (error) {
      options.onError?.(error);
      if (isOutage(error)) {
        return options.failOpen
          ? { allow: true, verdict: null }
          : deny(503, MiddlewareCodes.unavailable, "The API key could not be checked; try again later", {});
      }
      // Gatehouse answered, but refused the middleware itself (its own key, a malformed
      // permission query): a fault of this service's setup, never a reason to let a caller in.
      return deny(500, MiddlewareCodes.misconfigured, "The API key could not be checked", {});
    }

    if (cacheKey !== undefined && !exhaustedCodes.has(verdict.code)) {
      cache.delete(cacheKey);
      if (cache.size >= maxCachedVerdicts) cache.delete(cache.keys().next().value as string);
      cache.set(cacheKey, { expiresAt: Date.now() + cacheTtlMs, verdict });
    }
    return decide(verdict);
  };
}

function makeClient(options: GatehouseMiddlewareOptions): Gatehouse {
  const apiKey = options.apiKey ?? environment("GATEHOUSE_API_KEY");
  if (!options.baseUrl) throw new TypeError("baseUrl (or client) is required");
  if (!apiKey) throw new TypeError("apiKey (or GATEHOUSE_API_KEY, or client) is required");
  return new Gatehouse({ baseUrl: options.baseUrl, apiKey });
}

function environment(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return process?.env?.[name];
}

function presentedKey(request: IncomingCredentials, header: string): string | undefined {
  const direct = request.header(header)?.trim();
  if (direct) return direct;
  const authorization = request.header("authorization")?.trim();
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer || undefined;
}

function decide(verdict: Verdict): Decision {
  if (verdict.valid) return { allow: true, verdict };
  const code = verdict.code;
  if (forbiddenCodes.has(code)) return deny(403, code, "The API key may not do this", {});
  if (exhaustedCodes.has(code)) {
    const retryAfter = retryAfterSeconds(verdict);
    return deny(429, code, code === "RATE_LIMITED" ? "Too many requests" : "The API key has no credits left", retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) });
  }
  // NOT_FOUND, REVOKED, DISABLED, EXPIRED, and any code a newer server adds: not authenticated.
  return deny(401, code, "The API key is not valid", { "WWW-Authenticate": "Bearer" });
}

// The latest reset among the exceeded limits: the time after which a retry can succeed.
function retryAfterSeconds(verdict: Verdict): number | undefined {
  const resets = (verdict.ratelimits ?? [])
    .filter((limit) => limit.exceeded && typeof limit.resetAt === "string")
    .map((limit) => Date.parse(limit.resetAt as string))
    .filter((time) => !Number.isNaN(time));
  if (resets.length === 0) return undefined;
  return Math.max(1, Math.ceil((Math.max(...resets) - Date.now()) / 1000));
}

function isOutage(error: unknown): boolean {
  return !(error instanceof GatehouseError) || error.status === 0 || error.status === 429 || error.status >= 500;
}

function deny(status: DenialStatus, code: string, message: string, headers: Record<string, string>): Decision {
  return { allow: false, status, body: { success: false, error: { code, message } }, headers };
}
