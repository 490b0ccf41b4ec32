// Removes dist/ so a file deleted from src/ never lingers in the package.
import { rmSync } from "node:fs";
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
