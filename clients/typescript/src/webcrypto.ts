// Node 18 exposes Web Crypto only as require("node:crypto").webcrypto (the global `crypto`
// arrived in Node 19); Node 20+, Deno, Bun and edge runtimes have it as a global. Loading the
// module lazily keeps the package free of Node-only imports where the global exists.
let cached: Promise<Crypto> | undefined;

function webCrypto(): Promise<Crypto> {
  cached ??=
    typeof globalThis.crypto?.subtle === "object"
      ? Promise.resolve(globalThis.crypto)
      : import("node:crypto").then((module) => module.webcrypto as unknown as Crypto);
  return cached;
}

export async function randomId(): Promise<string> {
  return (await webCrypto()).randomUUID();
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await (await webCrypto()).subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
