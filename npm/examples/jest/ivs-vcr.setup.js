// Runs before each test file: points the AWS SDK at this worker's server (the
// AWS_ENDPOINT_URL_IVS* variables, and dummy credentials and region when none are set) and gives
// every test an empty IVS account with no faults.
const { ivsVcr } = require("./ivs-vcr");

ivsVcr.setEnv();
beforeEach(async () => {
  await ivsVcr.reset();
});
