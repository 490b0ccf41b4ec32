// A documents API guarded by Gatehouse: one public route, one that needs a single permission,
// and one that needs a permission query. Keys are issued in Gatehouse with custom permissions
// such as "docs:read"; this service only verifies them.
import express from "express";
import { gatehouseExpress } from "@gatehouse/sdk/express";

/**
 * @param {{ baseUrl: string, apiKey: string, failOpen?: boolean }} gatehouse where Gatehouse
 *   listens and a key of this organization holding `api_keys:verify`.
 */
export function createApp(gatehouse) {
  const requires = (permissions) => gatehouseExpress({ ...gatehouse, permissions });
  const documents = new Map([["doc_1", { id: "doc_1", title: "Welcome" }]]);
  const app = express();
  app.use(express.json());

  app.get("/status", (_request, response) => {
    response.json({ status: "ok" });
  });

  app.get("/documents", requires("docs:read"), (request, response) => {
    response.json({ documents: [...documents.values()], caller: request.gatehouse?.keyId ?? null });
  });

  app.delete("/documents/:id", requires("docs:delete AND (docs:write OR docs:admin)"), (request, response) => {
    const existed = documents.delete(request.params.id);
    response.status(existed ? 200 : 404).json({ deleted: existed });
  });

  return app;
}
