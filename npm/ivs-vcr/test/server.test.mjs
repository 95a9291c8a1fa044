// The JavaScript API against the real binary: start, the control plane, faults, live streams,
// how a server stops, and the environment `setEnv` lends the code under test.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createRequire } from "node:module";

import {
  ChannelNotBroadcasting,
  CreateChannelCommand,
  GetChannelCommand,
  GetStreamCommand,
  IvsClient,
  ListChannelsCommand,
  ListStreamKeysCommand,
} from "@aws-sdk/client-ivs";

import { repoDir, ivsClient } from "./support.mjs";
import * as ivsVcr from "../index.mjs";
import {
  BinaryNotFoundError,
  ControlPlane,
  ControlPlaneError,
  ENDPOINT_VARIABLES,
  Server,
  ServerError,
  binaryPath,
} from "../index.mjs";

describe("an emulator server", () => {
  let server;
  before(async () => {
    server = await Server.start();
  });
  after(() => server?.stop());

  test("listens on a loopback url and says it emulates", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.alive);
    assert.ok(server.pid > 0);
    assert.deepEqual(await server.health(), { status: "ok", mode: "emulate" });
    assert.deepEqual(server.command.slice(1), ["replay", "--port", "0", "--exit-on-stdin-close"]);
  });

  test("reset empties what the SDK created", async () => {
    const ivs = ivsClient(server);
    await ivs.send(new CreateChannelCommand({ name: "before-reset" }));
    assert.equal((await ivs.send(new ListChannelsCommand({}))).channels.length, 1);
    await server.reset();
    assert.equal((await ivs.send(new ListChannelsCommand({}))).channels.length, 0);
  });

  test("summary counts the operations served", async () => {
    await server.reset();
    const ivs = ivsClient(server);
    await ivs.send(new ListChannelsCommand({}));
    await ivs.send(new ListChannelsCommand({}));
    const summary = await server.summary();
    assert.equal(summary.mode, "emulate");
    assert.equal(summary.n_unmatched, 0);
    assert.deepEqual(summary.operations.ListChannels, { emulated: 2, faulted: 0, matched: 0, unmatched: 0, unused: 0 });
  });

  test("a fault rule can name the service it is for", async () => {
    await server.reset();
    const rule = await server.fault({ service: "ivschat", operation: "CreateRoom", error: "ThrottlingException" });
    assert.equal(rule.service, "ivschat");
    assert.equal(rule.operation, "CreateRoom");
    await server.clearFaults();
  });

  test("a ThrottlingException fault on CreateChannel reaches the SDK, then is spent", async () => {
    await server.reset();
    const ivs = ivsClient(server);
    const rule = await server.fault({ operation: "CreateChannel", error: "ThrottlingException", times: 1 });
    assert.equal(rule.operation, "CreateChannel");
    assert.equal(rule.remaining, 1);
    await assert.rejects(ivs.send(new CreateChannelCommand({ name: "throttled" })), (err) => {
      assert.equal(err.name, "ThrottlingException", String(err));
      assert.equal(err.$metadata.httpStatusCode, 429);
      return true;
    });
    const [spent] = await server.faults();
    assert.equal(spent.id, rule.id);
    assert.equal(spent.remaining, 0);
    assert.equal(spent.hits, 1);
    const created = await ivs.send(new CreateChannelCommand({ name: "after-the-fault" }));
    assert.equal(created.channel.name, "after-the-fault");
  });

  test("fault takes camelCase options and refuses unknown ones", async () => {
    await server.reset();
    const rule = await server.fault({ operation: "GetChannel", delayMs: 1, retryAfterMs: 5, status: 503 });
    assert.equal(rule.delay_ms, 1);
    assert.equal(rule.retry_after_ms, 5);
    await assert.rejects(server.fault({ operation: "GetChannel", delay_ms: 1 }), TypeError);
    await server.clearFaults();
    assert.deepEqual(await server.faults(), []);
  });

  test("a fault rule can name the account it is for", async () => {
    await server.reset();
    const rule = await server.fault({ account: "111111111111", operation: "ListChannels", error: "ThrottlingException" });
    assert.equal(rule.account, "111111111111");
    const as = (accessKeyId) => ivsClient(server, { credentials: { accessKeyId, secretAccessKey: "test" } });
    const [faulted, other] = [as("111111111111"), as("222222222222")];
    assert.deepEqual((await other.send(new ListChannelsCommand({}))).channels, []);
    await assert.rejects(faulted.send(new ListChannelsCommand({})), (err) => err.name === "ThrottlingException");
    await server.clearFaults();
  });

  test("a refused control call is a ControlPlaneError with the server's reason", async () => {
    await assert.rejects(server.fault({ operation: "GetChannel", error: "NoSuchError" }), (err) => {
      assert.ok(err instanceof ControlPlaneError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.errorType, "ValidationException");
      assert.match(err.serverMessage, /NoSuchError/);
      assert.match(err.message, /^POST \/_ivs-vcr\/faults answered 400 ValidationException: /);
      return true;
    });
  });

  test("startStream takes a channel live and stopStream ends it", async () => {
    await server.reset();
    const ivs = ivsClient(server);
    const { channel } = await ivs.send(new CreateChannelCommand({ name: "live" }));
    await assert.rejects(ivs.send(new GetStreamCommand({ channelArn: channel.arn })), ChannelNotBroadcasting);
    await server.startStream(channel.arn, { health: "HEALTHY", viewerCount: 7 });
    const { stream } = await ivs.send(new GetStreamCommand({ channelArn: channel.arn }));
    assert.equal(stream.state, "LIVE");
    assert.equal(stream.health, "HEALTHY");
    assert.equal(stream.viewerCount, 7);
    assert.equal((await server.state()).account, "123456789012");
    await server.stopStream(channel.arn);
    await assert.rejects(ivs.send(new GetStreamCommand({ channelArn: channel.arn })), ChannelNotBroadcasting);
  });

  test("joinStage joins a token's participant and starts the stage session; leaveStage ends it", async () => {
    await server.reset();
    // Real-Time's own calls, unsigned through `request` (the emulator routes them by name), so
    // that this package's tests need no Real-Time SDK.
    const created = await server.request("POST", "/CreateStage", {
      name: "studio",
      participantTokenConfigurations: [{ userId: "host", capabilities: ["SUBSCRIBE"] }],
    });
    const stageArn = created.stage.arn;
    const [{ token, participantId }] = created.participantTokens;

    const joined = await server.joinStage(token, { subscribe: true });
    assert.deepEqual(Object.keys(joined).sort(), ["participantId", "sessionId", "stageArn"]);
    assert.equal(joined.participantId, participantId);
    assert.equal(joined.stageArn, stageArn);
    const { stage } = await server.request("POST", "/GetStage", { arn: stageArn });
    assert.equal(stage.activeSessionId, joined.sessionId);

    // A capability the token lacks: refused, with the server's reason.
    await assert.rejects(server.joinStage(token, { publish: true }), (err) => {
      assert.ok(err instanceof ControlPlaneError);
      assert.equal(err.status, 403);
      assert.match(err.serverMessage, /PUBLISH/);
      return true;
    });

    await server.leaveStage(participantId, { stageArn });
    // The session ends a few minutes after the last one leaves: the clock is moved past that.
    await server.request("POST", "clock", { advance_seconds: 600 });
    const after = await server.request("POST", "/GetStage", { arn: stageArn });
    assert.ok(!after.stage.activeSessionId, JSON.stringify(after.stage));
    const { participant } = await server.request("POST", "/GetParticipant", {
      stageArn,
      sessionId: joined.sessionId,
      participantId,
    });
    assert.equal(participant.state, "DISCONNECTED");
    await assert.rejects(server.leaveStage(participantId), ControlPlaneError);
  });

  test("joinStageWithStreamKey publishes with an ingest configuration's key", async () => {
    await server.reset();
    const { stage } = await server.request("POST", "/CreateStage", { name: "encoder" });
    const { ingestConfiguration } = await server.request("POST", "/CreateIngestConfiguration", {
      stageArn: stage.arn,
      ingestProtocol: "RTMPS",
    });
    const joined = await server.joinStageWithStreamKey(ingestConfiguration.streamKey);
    assert.equal(joined.stageArn, stage.arn);
    assert.equal(joined.participantId, ingestConfiguration.participantId);
    const active = await server.request("POST", "/GetIngestConfiguration", { arn: ingestConfiguration.arn });
    assert.equal(active.ingestConfiguration.state, "ACTIVE");
    await server.leaveStage(joined.participantId);
    await assert.rejects(server.joinStageWithStreamKey("rt_123456789012_us-west-2_nope00000000_x"), ControlPlaneError);
  });

  test("advanceClock and setClock move the emulator's clock forward; reset returns it", async () => {
    await server.reset();
    const set = await server.setClock("2031-03-04T05:06:07Z");
    assert.match(set.now, /^2031-03-04T05:06:07/);
    const moved = await server.advanceClock(90);
    assert.ok(moved.epochMillis - set.epochMillis >= 90_000, JSON.stringify(moved));
    await assert.rejects(server.setClock("2001-01-01T00:00:00Z"), (err) => {
      assert.ok(err instanceof ControlPlaneError);
      assert.equal(err.status, 409);
      return true;
    });
    await server.reset();
    assert.equal((await server.advanceClock(0)).aheadSeconds, 0);
  });

  test("events lists the EventBridge events of a stream, by type and after a number", async () => {
    await server.reset();
    const ivs = ivsClient(server);
    const { channel } = await ivs.send(new CreateChannelCommand({ name: "evented" }));
    const started = await server.startStream(channel.arn);
    await server.updateStream(channel.arn, { health: "STARVING" });
    await server.stopStream(channel.arn);
    const events = await server.events();
    assert.deepEqual(
      events.map((e) => [e["detail-type"], e.detail.event_name]),
      [
        ["IVS Stream State Change", "Session Created"],
        ["IVS Stream State Change", "Stream Start"],
        ["IVS Stream Health Change", "Starvation Start"],
        ["IVS Stream State Change", "Stream End"],
        ["IVS Stream State Change", "Session Ended"],
      ],
    );
    assert.deepEqual(events[0].resources, [channel.arn]);
    assert.deepEqual(events[0].detail, {
      event_name: "Session Created",
      channel_name: "evented",
      stream_id: started.stream.streamId,
    });
    assert.equal(events[0].source, "aws.ivs");
    const health = await server.events({ detailType: "IVS Stream Health Change" });
    assert.deepEqual(health, [events[2]]);
    assert.deepEqual(await server.events({ since: 3 }), events.slice(3));
  });

  test("reset, summary, state and events take an account: two access keys are two accounts", async () => {
    await server.reset();
    const [a, b] = ["111111111111", "222222222222"];
    const as = (key) => ivsClient(server, { credentials: { accessKeyId: key, secretAccessKey: "test" } });
    const { channel: mine } = await as(a).send(new CreateChannelCommand({ name: "a" }));
    await as(a).send(new CreateChannelCommand({ name: "a2" }));
    const { channel: theirs } = await as(b).send(new CreateChannelCommand({ name: "b" }));
    await server.startStream(theirs.arn);

    const summary = await server.summary({ account: a });
    assert.deepEqual(summary, {
      mode: "emulate",
      account: a,
      operations: { CreateChannel: { emulated: 2, faulted: 0 } },
      n_emulated: 2,
      n_faulted: 0,
    });
    const whole = await server.summary();
    assert.equal(whole.operations.CreateChannel.emulated, 3);
    assert.deepEqual(Object.keys(whole.accounts).sort(), [a, b]);
    assert.equal(whole.accounts[b].n_emulated, 1);

    const events = await server.events({ account: b });
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.account === b && e.resources[0] === theirs.arn));
    assert.deepEqual(await server.events({ account: a }), []);

    assert.equal((await server.state({ account: a })).regions["us-west-2"].channel.length, 2);
    await server.reset({ account: a });
    assert.equal((await server.summary({ account: a })).n_emulated, 0);
    assert.deepEqual(Object.keys((await server.state()).accounts), [b]);
    assert.equal(mine.arn.split(":")[4], a);
  });

  test("startStream of an unknown channel is refused", async () => {
    await server.reset();
    await assert.rejects(
      server.startStream("arn:aws:ivs:us-west-2:123456789012:channel/nope"),
      (err) => err instanceof ControlPlaneError && err.status >= 400 && err.status < 500,
    );
  });
});

describe("stopping", () => {
  test("an emulator that answered everything exits 0, and stop() again gives the same result", async () => {
    const server = await Server.start();
    await ivsClient(server).send(new ListChannelsCommand({}));
    const result = await server.stop();
    assert.equal(result.exitCode, 0, result.stderrTail);
    assert.equal(result.signal, null);
    assert.equal(server.alive, false);
    assert.equal(server.exitCode, 0);
    assert.equal(await server.stop(), result);
  });

  test("a replay server that left a request unmatched exits 1 and says why in its log tail", async () => {
    const server = await Server.start({ cassettes: path.join(repoDir, "cassettes", "01-channel-lifecycle.yaml") });
    assert.equal((await server.health()).mode, "replay");
    await assert.rejects(ivsClient(server).send(new ListStreamKeysCommand({ channelArn: "arn:aws:ivs:us-west-2:123456789012:channel/none" })));
    const result = await server.stop();
    assert.equal(result.exitCode, 1, result.stderrTail);
    assert.match(result.stderrTail, /ListStreamKeys/);
  });

  test("a control call to a stopped server is a ServerError naming its exit", async () => {
    const server = await Server.start();
    await server.stop();
    await assert.rejects(server.health(), (err) => {
      assert.ok(err instanceof ServerError, String(err));
      assert.match(err.message, /exited with code 0/);
      return true;
    });
  });
});

describe("starting", () => {
  test("a server that refuses its arguments is a ServerError with its stderr", async () => {
    await assert.rejects(Server.start({ args: ["--no-such-flag"] }), (err) => {
      assert.ok(err instanceof ServerError, String(err));
      assert.match(err.message, /did not start/);
      assert.match(err.message, /--no-such-flag/);
      return true;
    });
  });

  test("an IVS_VCR_BIN that is not an executable is a BinaryNotFoundError", async () => {
    const saved = process.env.IVS_VCR_BIN;
    process.env.IVS_VCR_BIN = path.join(repoDir, "no-such-ivs-vcr");
    try {
      assert.throws(binaryPath, BinaryNotFoundError);
      await assert.rejects(Server.start(), BinaryNotFoundError);
    } finally {
      process.env.IVS_VCR_BIN = saved;
    }
  });

  test("a mode other than serve, replay or record is refused before anything runs", async () => {
    await assert.rejects(Server.start({ mode: "diff" }), TypeError);
  });

  test("the constructor is not a way to get a server", () => {
    assert.throws(() => new Server(), /Server\.start/);
  });
});

describe("setEnv", () => {
  const touched = [...ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"];
  let saved;
  before(() => {
    saved = Object.fromEntries(touched.map((name) => [name, process.env[name]]));
  });
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test("points a client built from the environment at the server, and stop() puts everything back", async () => {
    for (const name of touched) delete process.env[name];
    process.env.AWS_ENDPOINT_URL_IVS = "http://before.invalid";
    const server = await Server.start({ setEnv: true });
    for (const name of ENDPOINT_VARIABLES) assert.equal(process.env[name], server.url);
    assert.equal(process.env.AWS_ACCESS_KEY_ID, "test");
    assert.equal(process.env.AWS_REGION, "us-west-2");
    assert.deepEqual(server.env(), Object.fromEntries(ENDPOINT_VARIABLES.map((name) => [name, server.url])));

    // No endpoint, region or credentials in code: the SDK reads them from the environment.
    const ivs = new IvsClient({ maxAttempts: 1 });
    const { channel } = await ivs.send(new CreateChannelCommand({ name: "from-env" }));
    assert.equal((await ivs.send(new GetChannelCommand({ arn: channel.arn }))).channel.name, "from-env");

    await server.stop();
    assert.equal(process.env.AWS_ENDPOINT_URL_IVS, "http://before.invalid");
    for (const name of touched.filter((n) => n !== "AWS_ENDPOINT_URL_IVS")) {
      assert.equal(process.env[name], undefined, name);
    }
  });

  test("keeps configured credentials and region, and leaves a variable changed since alone", async () => {
    for (const name of touched) delete process.env[name];
    process.env.AWS_ACCESS_KEY_ID = "AKIAREAL";
    process.env.AWS_DEFAULT_REGION = "eu-west-1";
    const server = await Server.start({ setEnv: true });
    assert.equal(process.env.AWS_ACCESS_KEY_ID, "AKIAREAL");
    assert.equal(process.env.AWS_SECRET_ACCESS_KEY, undefined);
    assert.equal(process.env.AWS_REGION, undefined);
    process.env.AWS_ENDPOINT_URL_IVSCHAT = "http://changed-by-the-test.invalid";
    await server.stop();
    assert.equal(process.env.AWS_ENDPOINT_URL_IVS, undefined);
    assert.equal(process.env.AWS_ENDPOINT_URL_IVSCHAT, "http://changed-by-the-test.invalid");
    assert.equal(process.env.AWS_ACCESS_KEY_ID, "AKIAREAL");
  });
});

describe("module formats", () => {
  test("import and require give the same classes", () => {
    const require = createRequire(import.meta.url);
    const cjs = require("../index.cjs");
    assert.deepEqual(Object.keys(ivsVcr).sort(), Object.keys(cjs).sort());
    for (const name of Object.keys(cjs)) assert.equal(ivsVcr[name], cjs[name], name);
  });
});

describe("a ControlPlane by url", () => {
  test("drives a server started elsewhere, and its errors say it cannot reach a stopped one", async () => {
    const server = await Server.start();
    const plane = new ControlPlane(`${server.url}/`);
    assert.equal(plane.url, server.url);
    await plane.fault({ operation: "ListChannels", error: "ThrottlingException", times: 1 });
    await assert.rejects(ivsClient(server).send(new ListChannelsCommand({})), { name: "ThrottlingException" });
    await plane.reset();
    assert.deepEqual(await server.faults(), []);
    await server.stop();
    await assert.rejects(plane.health(), ServerError);
  });

  test("needs an http url", () => {
    assert.throws(() => new ControlPlane("127.0.0.1:7474"), TypeError);
  });
});
