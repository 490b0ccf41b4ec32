// tsc emits declarations for .ts files only; the generated schema.d.ts that the emitted
// declarations import has to be copied beside them.
import { copyFileSync } from "node:fs";
copyFileSync(new URL("../src/schema.d.ts", import.meta.url), new URL("../dist/schema.d.ts", import.meta.url));
