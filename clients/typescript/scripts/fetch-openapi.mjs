// Saves the OpenAPI document of a running Gatehouse (GATEHOUSE_URL, default
// http://127.0.0.1:5080) as openapi.json, indented so that its diffs stay readable.
import { writeFileSync } from "node:fs";

const baseUrl = (process.env.GATEHOUSE_URL ?? "http://127.0.0.1:5080").replace(/\/+$/, "");
const response = await fetch(`${baseUrl}/api/v1/openapi.json`);
if (!response.ok) {
  console.error(`GET ${baseUrl}/api/v1/openapi.json answered ${response.status}`);
  process.exit(1);
}
const document = await response.json();
writeFileSync(new URL("../openapi.json", import.meta.url), `${JSON.stringify(document, null, 2)}\n`);
console.log(`openapi.json saved from ${baseUrl}`);
