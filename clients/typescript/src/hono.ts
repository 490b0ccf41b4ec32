// Types only: the middleware runs on the application's own Hono and never loads it.
import type { Context, MiddlewareHandler } from "hono";
import { createGatekeeper } from "./middleware.js";
import type { GatehouseMiddlewareOptions, Verdict } from "./middleware.js";

/** The variables the middleware sets: `c.get("gatehouse")`. */
export interface GatehouseEnv {
  Variables: {
    /** The verdict on the caller's key; null when it was let through unverified (`failOpen`). */
    gatehouse: Verdict | null;
  };
}

/**
 * Hono middleware that verifies the caller's API key with Gatehouse (and the permission query,
 * when given), sets the verdict as `c.get("gatehouse")`, and answers 401, 403, 429 or 503
 * itself when the request may not go on. Hono has no runtime-independent way to read the end
 * client's address, so it reaches Gatehouse only through `clientIp`.
 */
export function gatehouseHono(
  options: GatehouseMiddlewareOptions & {
    /** The end client's address, checked against keys' `ipAllowlist` (e.g. from `getConnInfo` of your adapter). */
    clientIp?: ((c: Context) => string | undefined) | undefined;
  },
): MiddlewareHandler<GatehouseEnv> {
  const decide = createGatekeeper(options);
  return async (c, next) => {
    const decision = await decide({ header: (name) => c.req.header(name), ip: options.clientIp?.(c) });
    if (decision.allow) {
      c.set("gatehouse", decision.verdict);
      await next();
      return;
    }
    return c.json(decision.body, decision.status, decision.headers);
  };
}

export type { GatehouseMiddlewareOptions, Verdict } from "./middleware.js";
