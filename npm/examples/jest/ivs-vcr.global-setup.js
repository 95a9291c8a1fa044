// Jest's global setup runs once, in the main process, before the workers start. It starts one
// ivs-vcr server per worker (Jest numbers its workers 1..maxWorkers in JEST_WORKER_ID; --runInBand
// is worker 1) and hands their URLs to the workers in IVS_VCR_URLS, which they inherit.
//
// For cassettes instead of the emulator: `Server.start({ cassettes: "cassettes" })`; to record:
// `Server.start({ mode: "record", args: ["--cassettes", "cassettes", "--record-mode", "once"] })`.
const { Server } = require("ivs-vcr");

module.exports = async function globalSetup(globalConfig) {
  const count = Math.max(1, globalConfig.maxWorkers);
  const servers = await Promise.all(Array.from({ length: count }, () => Server.start()));
  process.env.IVS_VCR_URLS = JSON.stringify(servers.map((server) => server.url));
  // The global teardown runs in this same context, and reads what is left here.
  globalThis.ivsVcrServers = servers;
};
