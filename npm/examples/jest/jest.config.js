// One ivs-vcr server per Jest worker, started once for the run by the global setup, stopped by
// the global teardown, and reset before each test by the setup file.
module.exports = {
  testEnvironment: "node",
  globalSetup: "./ivs-vcr.global-setup.js",
  globalTeardown: "./ivs-vcr.global-teardown.js",
  setupFilesAfterEnv: ["./ivs-vcr.setup.js"],
};
