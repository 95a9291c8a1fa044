// IVS Real-Time through the AWS SDK for JavaScript v3 (`@aws-sdk/client-ivs-realtime`), against
// the same `ivs-vcr replay` that serves IVS. Participants join and leave through the control
// plane (`POST /_ivs-vcr/stages/join` and `/leave`), as a browser's broadcast SDK would with media.
// Run with `npm test` in this folder (after `cargo build`); `.ci/run` does.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  CreateEncoderConfigurationCommand,
  CreateParticipantTokenCommand,
  CreateStageCommand,
  CreateStorageConfigurationCommand,
  DeleteStageCommand,
  GetCompositionCommand,
  GetParticipantCommand,
  GetStageCommand,
  GetStageSessionCommand,
  IVSRealTimeClient,
  ListCompositionsCommand,
  ListParticipantEventsCommand,
  ListParticipantsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  StartCompositionCommand,
  StopCompositionCommand,
  TagResourceCommand,
} from "@aws-sdk/client-ivs-realtime";
import { CreateChannelCommand, GetStreamCommand, IvsClient } from "@aws-sdk/client-ivs";

import { startEmulator } from "./server.mjs";

let server;
let endpoint;

before(async () => {
  ({ server, endpoint } = await startEmulator());
});

after(() => server?.kill("SIGTERM"));

const options = () => ({
  endpoint,
  region: "us-west-2",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});

/** A control-plane call: resolves to `{ status, body }`. */
async function control(path, body) {
  const res = await fetch(`${endpoint}/_ivs-vcr/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function claimsOf(token) {
  const parts = token.split(".");
  assert.equal(parts.length, 3, token);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

async function eventNames(rt, stageArn, sessionId, participantId) {
  const { events } = await rt.send(new ListParticipantEventsCommand({ stageArn, sessionId, participantId }));
  return events.map((e) => e.name);
}

async function until(what, expected, ms = 5000) {
  const deadline = Date.now() + ms;
  let got = await what();
  while (got !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    got = await what();
  }
  return got;
}

test("a stage's tokens join, its session and participants follow, and deletion ends it", async () => {
  const rt = new IVSRealTimeClient(options());
  const created = await rt.send(
    new CreateStageCommand({
      name: "studio",
      participantTokenConfigurations: [{ userId: "host", capabilities: ["PUBLISH", "SUBSCRIBE"] }],
      tags: { team: "live" },
    }),
  );
  const stageArn = created.stage.arn;
  assert.match(stageArn, /^arn:aws:ivs:us-west-2:\d{12}:stage\/[a-zA-Z0-9]+$/);
  const [hostToken] = created.participantTokens;
  const claims = claimsOf(hostToken.token);
  assert.equal(claims.resource, stageArn);
  assert.equal(claims.jti, hostToken.participantId);
  assert.deepEqual(claims.capabilities, { allow_publish: true, allow_subscribe: true });
  assert.ok(hostToken.expirationTime instanceof Date);
  assert.equal(claims.exp, Math.floor(hostToken.expirationTime.getTime() / 1000));

  const { participantToken: guestToken } = await rt.send(
    new CreateParticipantTokenCommand({ stageArn, userId: "guest", capabilities: ["SUBSCRIBE"], duration: 30 }),
  );
  assert.equal(guestToken.duration, 30);

  const host = await control("stages/join", { token: hostToken.token, publish: true });
  assert.equal(host.status, 200, JSON.stringify(host.body));
  assert.equal(host.body.participantId, hostToken.participantId);
  assert.equal(host.body.stageArn, stageArn);
  const sessionId = host.body.sessionId;
  const { stage } = await rt.send(new GetStageCommand({ arn: stageArn }));
  assert.equal(stage.activeSessionId, sessionId);

  const refused = await control("stages/join", { token: guestToken.token, publish: true });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(refused.body.message, /PUBLISH/);
  const guest = await control("stages/join", { token: guestToken.token, subscribe: true });
  assert.equal(guest.status, 200, JSON.stringify(guest.body));
  assert.equal(guest.body.sessionId, sessionId);

  const { participants } = await rt.send(new ListParticipantsCommand({ stageArn, sessionId }));
  assert.deepEqual(
    participants.map((p) => [p.userId, p.state]).sort(),
    [
      ["guest", "CONNECTED"],
      ["host", "CONNECTED"],
    ],
  );
  assert.deepEqual(await eventNames(rt, stageArn, sessionId, hostToken.participantId), ["JOINED", "PUBLISH_STARTED"]);

  for (const who of [guest, host]) {
    const left = await control("stages/leave", { participantId: who.body.participantId });
    assert.equal(left.status, 200, JSON.stringify(left.body));
  }
  const { participant } = await rt.send(
    new GetParticipantCommand({ stageArn, sessionId, participantId: hostToken.participantId }),
  );
  assert.equal(participant.state, "DISCONNECTED");
  assert.equal((await eventNames(rt, stageArn, sessionId, hostToken.participantId)).at(-1), "LEFT");
  // The session ends a few minutes after the last participant leaves (the monitoring guide):
  // the emulator's clock is moved past that rather than waited for.
  const open = await rt.send(new GetStageSessionCommand({ stageArn, sessionId }));
  assert.equal(open.stageSession.endTime, undefined);
  const moved = await control("clock", { advance_seconds: 600 });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const { stageSession } = await rt.send(new GetStageSessionCommand({ stageArn, sessionId }));
  assert.ok(stageSession.endTime >= stageSession.startTime);
  assert.ok(!(await rt.send(new GetStageCommand({ arn: stageArn }))).stage.activeSessionId);

  await rt.send(new TagResourceCommand({ resourceArn: stageArn, tags: { env: "test" } }));
  const { tags } = await rt.send(new ListTagsForResourceCommand({ resourceArn: stageArn }));
  assert.deepEqual(tags, { team: "live", env: "test" });

  await rt.send(new DeleteStageCommand({ arn: stageArn }));
  await assert.rejects(rt.send(new GetStageCommand({ arn: stageArn })), ResourceNotFoundException);
  const late = await control("stages/join", { token: hostToken.token });
  assert.equal(late.status, 404, JSON.stringify(late.body));
});

test("a composition mixes a stage to a channel, which is live while it runs, then stops", async () => {
  const rt = new IVSRealTimeClient(options());
  const ivs = new IvsClient(options());
  const { channel } = await ivs.send(new CreateChannelCommand({ name: "mix" }));
  const { stage } = await rt.send(new CreateStageCommand({ name: "show" }));
  const { encoderConfiguration } = await rt.send(new CreateEncoderConfigurationCommand({ name: "hd" }));
  // Documented encoder defaults: 1280x720 at 30 fps and 2.5 Mbps.
  assert.deepEqual(encoderConfiguration.video, { width: 1280, height: 720, framerate: 30, bitrate: 2500000 });
  const { storageConfiguration } = await rt.send(
    new CreateStorageConfigurationCommand({ name: "archive", s3: { bucketName: "show-archive" } }),
  );
  const { participantToken } = await rt.send(new CreateParticipantTokenCommand({ stageArn: stage.arn }));
  const host = await control("stages/join", { token: participantToken.token, publish: true });
  assert.equal(host.status, 200, JSON.stringify(host.body));

  const { composition } = await rt.send(
    new StartCompositionCommand({
      stageArn: stage.arn,
      destinations: [
        { channel: { channelArn: channel.arn, encoderConfigurationArn: encoderConfiguration.arn } },
        { s3: { storageConfigurationArn: storageConfiguration.arn, encoderConfigurationArns: [encoderConfiguration.arn] } },
      ],
    }),
  );
  assert.ok(composition.layout.grid, "a grid unless told otherwise");
  const state = async () => (await rt.send(new GetCompositionCommand({ arn: composition.arn }))).composition.state;
  assert.equal(await until(state, "ACTIVE"), "ACTIVE");
  const { stream } = await ivs.send(new GetStreamCommand({ channelArn: channel.arn }));
  assert.equal(stream.state, "LIVE");
  const { compositions } = await rt.send(new ListCompositionsCommand({ filterByStageArn: stage.arn }));
  assert.deepEqual(
    compositions.map((c) => c.arn),
    [composition.arn],
  );

  await rt.send(new StopCompositionCommand({ arn: composition.arn }));
  assert.equal(await until(state, "STOPPED"), "STOPPED");
  const { composition: stopped } = await rt.send(new GetCompositionCommand({ arn: composition.arn }));
  assert.deepEqual(
    stopped.destinations.map((d) => d.state),
    ["STOPPED", "STOPPED"],
  );
  await assert.rejects(ivs.send(new GetStreamCommand({ channelArn: channel.arn })), { name: "ChannelNotBroadcasting" });
  await control("stages/leave", { participantId: host.body.participantId });
});
