// The emulator through the AWS SDK for JavaScript v3, as a Node test suite would use it: the
// real `ivs-vcr` binary (IVS_VCR_BIN, else target/debug/ivs-vcr) on a free port, the client
// pointed at it with AWS_ENDPOINT_URL_IVS, as the README says.
//
// Run with `npm test` in this folder (after `cargo build`); `.ci/run` does.

import { startEmulator } from "./server.mjs";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  CreateChannelCommand,
  DeleteChannelCommand,
  GetChannelCommand,
  GetStreamCommand,
  IvsClient,
  ListChannelsCommand,
  ListStreamKeysCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  ValidationException,
  ChannelNotBroadcasting,
} from "@aws-sdk/client-ivs";


let server;
let endpoint;

before(async () => {
  ({ server, endpoint } = await startEmulator());
  // The SDK reads the endpoint from the environment, as an application under test would.
  process.env.AWS_ENDPOINT_URL_IVS = endpoint;
});

after(() => server?.kill("SIGTERM"));

function client() {
  return new IvsClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

test("a channel is created, read, tagged, listed and deleted as IVS would", async () => {
  const ivs = client();
  const created = await ivs.send(
    new CreateChannelCommand({ name: "js-show", type: "BASIC", latencyMode: "NORMAL", tags: { env: "dev" } }),
  );
  const arn = created.channel.arn;
  assert.match(arn, /^arn:aws:ivs:eu-west-1:123456789012:channel\/[A-Za-z0-9]{12}$/);
  assert.equal(created.channel.type, "BASIC");
  assert.equal(created.channel.preset, "");
  assert.match(created.streamKey.value, /^sk_eu-west-1_/);

  const got = await ivs.send(new GetChannelCommand({ arn }));
  assert.equal(got.channel.name, "js-show");
  await ivs.send(new TagResourceCommand({ resourceArn: arn, tags: { team: "video" } }));
  const tags = await ivs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  assert.deepEqual(tags.tags, { env: "dev", team: "video" });
  const keys = await ivs.send(new ListStreamKeysCommand({ channelArn: arn }));
  assert.equal(keys.streamKeys.length, 1);
  const listed = await ivs.send(new ListChannelsCommand({ filterByName: "js-show" }));
  assert.deepEqual(listed.channels.map((c) => c.arn), [arn]);

  await ivs.send(new DeleteChannelCommand({ arn }));
  await assert.rejects(ivs.send(new GetChannelCommand({ arn })), (err) => {
    assert.ok(err instanceof ResourceNotFoundException, String(err));
    assert.match(err.message, /does not exist/);
    return true;
  });
});

test("invalid and offline requests fail with IVS's typed errors", async () => {
  const ivs = client();
  await assert.rejects(ivs.send(new CreateChannelCommand({ name: "bad name" })), (err) => {
    assert.ok(err instanceof ValidationException, String(err));
    assert.match(err.message, /does not match the pattern/);
    return true;
  });
  const { channel } = await ivs.send(new CreateChannelCommand({}));
  await assert.rejects(ivs.send(new GetStreamCommand({ channelArn: channel.arn })), (err) => {
    assert.ok(err instanceof ChannelNotBroadcasting, String(err));
    return true;
  });
  const started = await fetch(`${endpoint}/_ivs-vcr/streams/start`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ channelArn: channel.arn }),
  });
  assert.equal(started.status, 200);
  const stream = await ivs.send(new GetStreamCommand({ channelArn: channel.arn }));
  assert.equal(stream.stream.state, "LIVE");
});
