// Runs in each worker before each test file: points the AWS SDK at this worker's server (the
// AWS_ENDPOINT_URL_IVS* variables, and dummy credentials and region when none are set) and gives
// every test an empty IVS account with no faults.
import { beforeEach } from "vitest";
import { ivsVcr } from "./ivs-vcr";

ivsVcr.setEnv();
beforeEach(async () => {
  await ivsVcr.reset();
});
