// This worker's ivs-vcr server, for tests that drive it (faults, live streams, summary).
const { ControlPlane } = require("ivs-vcr");

const urls = JSON.parse(process.env.IVS_VCR_URLS ?? "[]");
const worker = Number(process.env.JEST_WORKER_ID ?? "1");
if (urls[worker - 1] === undefined) {
  throw new Error(`no ivs-vcr server for Jest worker ${worker}: the global setup started ${urls.length}`);
}

module.exports = { ivsVcr: new ControlPlane(urls[worker - 1]) };
