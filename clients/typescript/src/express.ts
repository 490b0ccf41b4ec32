// Types only: the middleware works with the application's own Express (4 or 5) and never
// loads it, so the package has no runtime dependency on it.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { createGatekeeper } from "./middleware.js";
import type { GatehouseMiddlewareOptions, Verdict } from "./middleware.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verdict on the caller's key; null when it was let through unverified (`failOpen`). */
      gatehouse?: Verdict | null;
    }
  }
}

/**
 * Express middleware that verifies the caller's API key with Gatehouse (and the permission
 * query, when given), puts the verdict on `req.gatehouse`, and answers 401, 403, 429 or 503
 * itself when the request may not go on.
 */
export function gatehouseExpress(options: GatehouseMiddlewareOptions): RequestHandler {
  const decide = createGatekeeper(options);
  return (request: Request, response: Response, next: NextFunction) => {
    decide({
      header: (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      ip: request.ip,
    }).then((decision) => {
      if (decision.allow) {
        request.gatehouse = decision.verdict;
        next();
        return;
      }
      response.status(decision.status).set(decision.headers).json(decision.body);
    }, next);
  };
}

export type { GatehouseMiddlewareOptions, Verdict } from "./middleware.js";

export { proxyMiddleware } from "./device-proxy.js";
export type { DeviceProxyOptions } from "./device-proxy.js";
