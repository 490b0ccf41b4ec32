// A small client of the Gatehouse API written against the types openapi-typescript generates
// from the served document. It is only type-checked (tsc --strict): if the document stops
// declaring a parameter, a type, a required member or a body, this file stops compiling.
import createClient from "openapi-fetch";
import type { components, paths } from "./gatehouse";

type Schemas = components["schemas"];

const client = createClient<paths>({
  baseUrl: "http://127.0.0.1:8080",
  headers: { Authorization: "Bearer gkr_example" },
});

export async function newestEnabledKeysOf(orgId: string, owner: string): Promise<string[]> {
  // Paging, sorting and every filter of the list, with their declared types.
  const { data, error } = await client.GET("/api/v1/orgs/{orgId}/api-keys", {
    params: {
      path: { orgId },
      query: { limit: 20, page: 2, sort: "-createdAt", start: "2026-01-01T00:00:00Z", ownerId: owner, enabled: true, q: "ci", includeRevoked: false },
    },
  });
  if (error) {
    const code: string = error.error.code;
    const requestId: string = error.meta.requestId;
    throw new Error(`${code} (${requestId}): ${error.error.message}`);
  }

  // data, meta and the items' members are required: no optional chaining is needed.
  const total: number | undefined = data.meta.pagination?.total;
  const names = data.data.map((key) => `${key.name} created ${key.createdAt}, last used ${key.lastUsedAt ?? "never"}`);
  const success: boolean = data.success;
  return success && total !== undefined ? names : [];
}

export async function issueKey(orgId: string): Promise<string> {
  const body: Schemas["CreateApiKeyRequest"] = {
    name: "ci deploy",
    permissions: ["api_keys:read"],
    expiresAt: "2030-01-01T00:00:00Z",
    ratelimits: [{ name: "requests", limit: 100, durationMs: 60000 }],
    meta: { team: "ci" },
  };
  const { data, error, response } = await client.POST("/api/v1/orgs/{orgId}/api-keys", {
    params: { path: { orgId }, header: { "Idempotency-Key": "issue-ci-deploy" } },
    body,
  });
  if (error) {
    throw new Error(`${response.status} ${error.error.code}`);
  }

  const issued: Schemas["IssuedApiKey"] = data.data;
  const remaining: number | null = issued.remaining;
  return remaining === null ? issued.key : `${issued.key} (${remaining} credits)`;
}

export async function auditOf(orgId: string, actorId: string) {
  const { data } = await client.GET("/api/v1/orgs/{orgId}/audit-logs", {
    params: { path: { orgId }, query: { action: "api_key.*", actorId, offset: 50, limit: 50, sort: "createdAt", end: new Date().toISOString() } },
  });
  // The route also streams NDJSON (Accept: application/x-ndjson), so the body is one of two shapes.
  return data !== undefined && "success" in data ? data.data.map((event) => `${event.action} at ${event.occurredAt}`) : [];
}

export async function failedDeliveries(orgId: string, webhookId: string) {
  const { data } = await client.GET("/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries", {
    params: { path: { orgId, webhookId }, query: { status: "failed", limit: 10 } },
  });
  return data?.data.length ?? 0;
}

export async function usage(orgId: string, keyId: string) {
  const { data } = await client.GET("/api/v1/orgs/{orgId}/api-keys/{keyId}/usage", {
    params: { path: { orgId, keyId }, query: { granularity: "day", start: "2026-11-01T00:00:00Z" } },
  });
  return data?.data.buckets.map((bucket) => [bucket.start, bucket.total] as const) ?? [];
}

export async function createOrganization(name: string) {
  const { data } = await client.POST("/api/v1/orgs", { body: { name, slug: "acme" } });
  return data?.data.id;
}

// What the document rules out must not compile.
export async function mistakes(orgId: string) {
  await client.GET("/api/v1/orgs/{orgId}/api-keys", {
    // @ts-expect-error sort is an enum
    params: { path: { orgId }, query: { sort: "name" } },
  });
  await client.GET("/api/v1/orgs/{orgId}/api-keys", {
    // @ts-expect-error limit is an integer
    params: { path: { orgId }, query: { limit: "20" } },
  });
  await client.GET("/api/v1/orgs/{orgId}/roles", {
    // @ts-expect-error roles have no ownerId filter
    params: { path: { orgId }, query: { ownerId: "u1" } },
  });
  await client.GET("/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries", {
    // @ts-expect-error status is one of the delivery states
    params: { path: { orgId, webhookId: "wh_1" }, query: { status: "lost" } },
  });
}
