// tsc emits declarations for .ts files only; the generated schema.d.ts that the emitted
// declarations import has to be copied beside them. The browser agent ships as it is served by
// Gatehouse (/device/agent.js), so that an app can host it itself.
import { copyFileSync } from "node:fs";
copyFileSync(new URL("../src/schema.d.ts", import.meta.url), new URL("../dist/schema.d.ts", import.meta.url));
copyFileSync(
  new URL("../../../src/Gatehouse.Server/Features/Devices/Browser/device-agent.js", import.meta.url),
  new URL("../dist/agent.js", import.meta.url),
);
