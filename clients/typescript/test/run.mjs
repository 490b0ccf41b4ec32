// Runs the test files against one Gatehouse: starting the server is most of a run's time, so
// it is started once here and handed to every file (node --test runs each in its own process).
// The files are listed by name: Node 18's runner takes no glob patterns.
import { spawn } from "node:child_process";
import { startOwnGatehouse } from "./gatehouse-server.mjs";

const files = ["test/client.test.mjs", "test/retry.test.mjs", "test/middleware.test.mjs", "test/devices.test.mjs", "test/schema.test.mjs"];

const gatehouse = await startOwnGatehouse();
let code = 1;
try {
  const runner = spawn(process.execPath, ["--test", "--test-reporter=tap", ...files], {
    stdio: "inherit",
    env: { ...process.env, GATEHOUSE_TEST_URL: gatehouse.baseUrl, GATEHOUSE_TEST_ROOT_KEY: gatehouse.rootKey },
  });
  code = await new Promise((resolve) => runner.once("exit", (exitCode) => resolve(exitCode ?? 1)));
} finally {
  await gatehouse.stop();
}
process.exit(code);
