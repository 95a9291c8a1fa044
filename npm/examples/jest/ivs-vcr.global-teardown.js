// Stops the servers of the global setup, and fails the run if one saw a request it could not
// answer (exit code 1: no cassette matched; the summary in its log says which).
module.exports = async function globalTeardown() {
  for (const server of globalThis.ivsVcrServers ?? []) {
    const { exitCode, stderrTail } = await server.stop();
    if (exitCode !== 0) throw new Error(`ivs-vcr exited with ${exitCode}\n${stderrTail}`);
  }
};
