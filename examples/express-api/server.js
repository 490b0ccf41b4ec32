import { createApp } from "./app.js";

const baseUrl = process.env.GATEHOUSE_URL ?? "http://127.0.0.1:5080";
const apiKey = process.env.GATEHOUSE_API_KEY;
if (!apiKey) {
  console.error("Set GATEHOUSE_API_KEY to a key with the api_keys:verify permission");
  process.exit(1);
}
const port = Number(process.env.PORT ?? 3000);
createApp({ baseUrl, apiKey }).listen(port, () => console.log(`documents API on http://127.0.0.1:${port}`));
