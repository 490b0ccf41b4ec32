/**
 * Codes the SDK uses for failures that never reached an answer of Gatehouse. Every other
 * `code` is one of the server's error codes (`NOT_FOUND`, `VALIDATION_FAILED`, …).
 */
export const ClientErrorCodes = {
  /** The connection failed (refused, reset, DNS) on every attempt. */
  networkError: "NETWORK_ERROR",
  /** No answer within `timeoutMs` on every attempt. */
  timeout: "TIMEOUT",
  /** An answer that is not a Gatehouse envelope (a proxy's error page, say). */
  unexpectedResponse: "UNEXPECTED_RESPONSE",
} as const;

export interface GatehouseErrorInit {
  code: string;
  message: string;
  status: number;
  requestId?: string | undefined;
  details?: Record<string, unknown> | undefined;
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

/**
 * A failed call: an error envelope of Gatehouse (`status` is its HTTP status) or a failure to
 * reach it (`status` 0 and one of {@link ClientErrorCodes}).
 */
export class GatehouseError extends Error {
  override readonly name = "GatehouseError";
  /** The server's error code (`FORBIDDEN`, `RATE_LIMIT_EXCEEDED`, …) or a client code. */
  readonly code: string;
  /** The HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  /** `meta.requestId` (or `X-Request-Id`): quote it when asking the operator about this call. */
  readonly requestId: string | undefined;
  /** `error.details` as sent, such as `{ fields: [{ field, reason }] }` or `{ required }`. */
  readonly details: Record<string, unknown> | undefined;
  /** `Retry-After` of a 429 or 503, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: GatehouseErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}
