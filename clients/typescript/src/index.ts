export { Gatehouse, parseRetryAfter } from "./client.js";
export type {
  ApiResult,
  CallOptions,
  GatehouseOptions,
  HttpMethod,
  ListQuery,
  Page,
  Pagination,
  PathsWith,
  RequestOptions,
  ResponseMeta,
  RetryEvent,
  Schemas,
} from "./client.js";
export { ClientErrorCodes, GatehouseError } from "./errors.js";
export type { GatehouseErrorInit } from "./errors.js";
export type { components, operations, paths } from "./schema.js";
export { createGatekeeper, MiddlewareCodes } from "./middleware.js";
export type { Decision, DenialBody, DenialStatus, GatehouseMiddlewareOptions, IncomingCredentials, Verdict } from "./middleware.js";
