// This worker's ivs-vcr server, for tests that drive it (faults, live streams, summary).
import { inject } from "vitest";
import { ControlPlane } from "ivs-vcr";

const urls = inject("ivsVcrUrls");
const worker = Number(process.env.VITEST_POOL_ID ?? "1");
const url = urls[worker - 1];
if (url === undefined) {
  throw new Error(`no ivs-vcr server for worker ${worker}: the global setup started ${urls.length}`);
}
export const ivsVcr = new ControlPlane(url);
