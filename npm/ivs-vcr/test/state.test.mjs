// State that survives, through @aws-sdk/client-ivs: snapshot, reset, restore answers as before and
// continues the same ids; a refused document changes nothing; `--state-file` keeps channels across
// a restart, and `saveState()` writes it.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { CreateChannelCommand, GetChannelCommand, ListChannelsCommand } from "@aws-sdk/client-ivs";

import { ivsClient } from "./support.mjs";
import { ControlPlaneError, Server } from "../index.mjs";

describe("snapshot and restore", () => {
  let server;
  before(async () => {
    server = await Server.start();
  });
  after(() => server?.stop());

  test("a snapshot restored after a reset answers as before and continues the ids", async () => {
    await server.reset();
    const ivs = ivsClient(server);
    const { channel } = await ivs.send(new CreateChannelCommand({ name: "kept", tags: { team: "video" } }));
    const snapshot = await server.snapshot();
    assert.equal(snapshot.format, "ivs-vcr/state");
    assert.equal(snapshot.version, 1);
    assert.equal("signingKey" in snapshot, false);
    const next = (await ivs.send(new CreateChannelCommand({}))).channel.arn;

    await server.reset();
    assert.equal((await ivs.send(new ListChannelsCommand({}))).channels.length, 0);
    const done = await server.restore(snapshot);
    assert.deepEqual(done.accounts, ["123456789012"]);
    const got = await ivs.send(new GetChannelCommand({ arn: channel.arn }));
    assert.deepEqual(got.channel, channel);
    assert.equal((await ivs.send(new CreateChannelCommand({}))).channel.arn, next);
  });

  test("a refused document changes nothing and saveState needs --state-file", async () => {
    await server.reset();
    await ivsClient(server).send(new CreateChannelCommand({ name: "one" }));
    const before = (await server.snapshot()).world;
    const newer = { ...(await server.snapshot()), version: 2 };
    await assert.rejects(server.restore(newer), (err) => {
      assert.ok(err instanceof ControlPlaneError);
      assert.equal(err.status, 400);
      assert.match(err.message, /newer than this ivs-vcr reads \(version 1\)/);
      return true;
    });
    assert.deepEqual((await server.snapshot()).world, before);
    await assert.rejects(server.saveState(), (err) => err.status === 409 && /--state-file/.test(err.message));
  });
});

test("a --state-file server keeps its channels across a restart", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivs-vcr-state-"));
  const file = path.join(dir, "ivs.json");
  try {
    const first = await Server.start({ mode: "serve", args: ["--state-file", file] });
    const arn = (await ivsClient(first).send(new CreateChannelCommand({ name: "kept" }))).channel.arn;
    const saved = await first.saveState();
    assert.equal(saved.path, file);
    assert.ok(saved.bytes > 0);
    await first.stop();
    const second = await Server.start({ mode: "serve", args: ["--state-file", file] });
    try {
      const listed = await ivsClient(second).send(new ListChannelsCommand({}));
      assert.deepEqual(listed.channels.map((c) => c.arn), [arn]);
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
