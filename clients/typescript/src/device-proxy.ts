// The first-party ("same-site") integration of device verification: the app serves Gatehouse's
// hosted page, agent script and the agent's calls under a path of its own origin, so the agent's
// key belongs to the app's origin and the page makes no third-party request. Only those routes are
// forwarded: the proxy is never a way into the rest of the API.

/** The routes under `{path}/device/` that are forwarded, and the methods each answers. */
const ROUTES: Record<string, readonly string[]> = {
  auth: ["GET"],
  "agent.js": ["GET"],
  challenge: ["POST", "OPTIONS"],
  register: ["POST", "OPTIONS"],
  prove: ["POST", "OPTIONS"],
  // A WebAuthn device key (the app's "webauthn" setting): options and result of a registration and of an assertion.
  "webauthn/register-options": ["POST", "OPTIONS"],
  "webauthn/register": ["POST", "OPTIONS"],
  "webauthn/assert-options": ["POST", "OPTIONS"],
  "webauthn/assert": ["POST", "OPTIONS"],
};

/** The agent's requests are tiny; Gatehouse refuses more than this as well. */
const MAX_BODY_BYTES = 16 * 1024;

/** The answer headers the page and the agent depend on (the content security policy above all). */
const RESPONSE_HEADERS = [
  "content-type",
  "content-security-policy",
  "referrer-policy",
  "cross-origin-resource-policy",
  "cache-control",
  "retry-after",
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-max-age",
  "vary",
];

export interface DeviceProxyOptions {
  /** Where Gatehouse listens, such as `https://gatehouse.example.com`. */
  baseUrl: string;
  /** The app's path the proxy answers under; default `/gatehouse`. Users go to `{path}/device/auth?request=…`. */
  path?: string | undefined;
  /** Time allowed for Gatehouse to answer, in milliseconds; default 10 000. */
  timeoutMs?: number | undefined;
  /** Replaces the global `fetch`. */
  fetch?: typeof fetch | undefined;
}

/** The parts of a Node/Express request and response the proxy uses (Express 4 or 5, or plain `node:http`). */
interface ProxyRequest extends AsyncIterable<Uint8Array | string> {
  method?: string | undefined;
  url?: string | undefined;
  originalUrl?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string | undefined } | undefined;
  /** Set when a body parser already read the body. */
  body?: unknown;
  readableEnded?: boolean | undefined;
}

interface ProxyResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: Uint8Array | string): unknown;
}

/**
 * Middleware that forwards `{path}/device/auth`, `{path}/device/agent.js` and the agent's
 * `challenge`, `register` and `prove` calls (and their `webauthn/…` twins) to Gatehouse's `/device/…`, and passes every other
 * request on. Mount it before any body parser, or after `express.json()` (a parsed JSON body is
 * sent again as JSON). List the app's own origin in the device app's `allowedOrigins`.
 */
export function proxyMiddleware(options: DeviceProxyOptions) {
  const target = new URL(options.baseUrl);
  const prefix = `${(options.path ?? "/gatehouse").replace(/\/+$/, "")}/device/`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const send = options.fetch ?? globalThis.fetch;

  return (request: ProxyRequest, response: ProxyResponse, next: (error?: unknown) => void): void => {
    const url = new URL(request.originalUrl ?? request.url ?? "/", "http://app.invalid");
    if (!url.pathname.startsWith(prefix)) {
      next();
      return;
    }
    const route = url.pathname.slice(prefix.length);
    const methods = ROUTES[route];
    const method = (request.method ?? "GET").toUpperCase();
    if (!methods?.includes(method)) {
      next();
      return;
    }
    forward(request, response, new URL(`/device/${route}${route === "auth" ? url.search : ""}`, target), method).catch(next);
  };

  async function forward(request: ProxyRequest, response: ProxyResponse, destination: URL, method: string): Promise<void> {
    const headers = new Headers();
    for (const name of ["origin", "content-type", "access-control-request-method", "access-control-request-headers"]) {
      const value = request.headers[name];
      if (typeof value === "string") headers.set(name, value);
    }
    // Gatehouse rate-limits the agent's calls by the browser's address; it trusts this header only
    // from the proxies its operator lists.
    const address = request.socket?.remoteAddress;
    if (address) headers.set("x-forwarded-for", address);

    let body: string | null = null;
    if (method === "POST") {
      const read = await readBody(request);
      if (read === undefined) {
        response.statusCode = 413;
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ error: "payload_too_large", message: "The request body is too large." }));
        return;
      }
      body = read;
    }

    let answer: Response;
    try {
      answer = await send(destination, { method, headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      // The agent shows its own message; never the error's.
      response.statusCode = 502;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ error: "gatehouse_unreachable", message: "Device verification is unavailable; try again shortly." }));
      return;
    }
    response.statusCode = answer.status;
    for (const name of RESPONSE_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) response.setHeader(name, value);
    }
    response.end(new Uint8Array(await answer.arrayBuffer()));
  }
}

/** The request's body (JSON text), or undefined when it is longer than the agent ever sends. */
async function readBody(request: ProxyRequest): Promise<string | undefined> {
  if (request.readableEnded && request.body !== undefined) {
    const text = typeof request.body === "string" ? request.body : JSON.stringify(request.body);
    return new TextEncoder().encode(text).byteLength > MAX_BODY_BYTES ? undefined : text;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request) {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    size += bytes.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(bytes);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(body);
}
