// IVS Chat through the AWS SDK for JavaScript v3 (`@aws-sdk/client-ivschat`), against the same
// `ivs-vcr replay` that serves IVS, found through AWS_ENDPOINT_URL_IVSCHAT as its startup line says.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  CreateChatTokenCommand,
  CreateRoomCommand,
  DeleteRoomCommand,
  GetRoomCommand,
  IvschatClient,
  ListRoomsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  SendEventCommand,
  TagResourceCommand,
} from "@aws-sdk/client-ivschat";

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.IVS_VCR_BIN ?? path.join(here, "..", "..", "target", "debug", "ivs-vcr");

let server;

before(async () => {
  server = spawn(binary, ["replay", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: server.stdout });
  let timer;
  const exports = await Promise.race([
    (async () => {
      for await (const line of lines) {
        if (line.startsWith("point clients at it with: export ")) return line;
      }
      throw new Error("ivs-vcr ended before its startup lines");
    })(),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("ivs-vcr did not start in 30 s")), 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const match = /AWS_ENDPOINT_URL_IVSCHAT=(http:\/\/\S+)/.exec(exports);
  assert.ok(match, `no AWS_ENDPOINT_URL_IVSCHAT in: ${exports}`);
  process.env.AWS_ENDPOINT_URL_IVSCHAT = match[1];
});

after(() => server?.kill("SIGTERM"));

function client() {
  return new IvschatClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

test("a room is created, read, listed, tagged, given a token and deleted as IVS Chat would", async () => {
  const chat = client();
  const room = await chat.send(new CreateRoomCommand({ name: "js-lobby", maximumMessageLength: 200 }));
  assert.match(room.arn, /^arn:aws:ivschat:eu-west-1:123456789012:room\/[A-Za-z0-9]{12}$/);
  assert.equal(room.maximumMessageLength, 200);
  assert.equal(room.maximumMessageRatePerSecond, 10);
  assert.ok(room.createTime instanceof Date);

  const got = await chat.send(new GetRoomCommand({ identifier: room.arn }));
  assert.equal(got.name, "js-lobby");
  const listed = await chat.send(new ListRoomsCommand({ name: "js-lobby" }));
  assert.deepEqual(listed.rooms.map((r) => r.arn), [room.arn]);

  await chat.send(new TagResourceCommand({ resourceArn: room.arn, tags: { env: "dev" } }));
  const tags = await chat.send(new ListTagsForResourceCommand({ resourceArn: room.arn }));
  assert.deepEqual(tags.tags, { env: "dev" });

  const token = await chat.send(
    new CreateChatTokenCommand({ roomIdentifier: room.arn, userId: "js-user", capabilities: ["SEND_MESSAGE"] }),
  );
  assert.ok(token.token.startsWith("AQICAH"));
  assert.ok(token.sessionExpirationTime > token.tokenExpirationTime);

  const event = await chat.send(new SendEventCommand({ roomIdentifier: room.arn, eventName: "poll" }));
  assert.equal(event.id.length, 12);

  await chat.send(new DeleteRoomCommand({ identifier: room.arn }));
  await assert.rejects(chat.send(new GetRoomCommand({ identifier: room.arn })), ResourceNotFoundException);
});
