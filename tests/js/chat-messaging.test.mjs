// The Chat Messaging WebSocket through AWS's own clients, as an app's test suite would use them:
// the real `ivs-vcr` binary (IVS_VCR_BIN, else target/debug/ivs-vcr) on a free port, rooms and
// tokens from the JS SDK v3 ivschat client (CreateRoom, CreateChatToken, SendEvent, ...), and
// the official `amazon-ivs-chat-messaging` SDK in Node, with `ws` as its WebSocket and the
// server's ws:// URL as its `regionOrUrl`.

import { once } from "node:events";
import { startEmulator } from "./server.mjs";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import WebSocket from "ws";
import {
  ChatRoom,
  DeleteMessageRequest,
  DisconnectUserRequest,
  SendMessageRequest,
} from "amazon-ivs-chat-messaging";
import {
  CreateChatTokenCommand,
  CreateRoomCommand,
  DeleteMessageCommand,
  DeleteRoomCommand,
  DisconnectUserCommand,
  IvschatClient,
  SendEventCommand,
} from "@aws-sdk/client-ivschat";

// The SDK opens `new WebSocket(url, token)`; Node 20 has no global WebSocket.
globalThis.WebSocket = WebSocket;


let server;
let endpoint;

before(async () => {
  ({ server, endpoint } = await startEmulator());
  process.env.AWS_ENDPOINT_URL_IVSCHAT = endpoint;
});

after(() => server?.kill("SIGTERM"));

function chat() {
  return new IvschatClient({
    region: "us-west-2",
    endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

// A token provider for `userId`: each call mints a fresh token, as the SDK expects.
function tokens(roomIdentifier, userId, capabilities) {
  return async () => {
    const minted = await chat().send(
      new CreateChatTokenCommand({ roomIdentifier, userId, capabilities, attributes: { name: userId } }),
    );
    return {
      token: minted.token,
      sessionExpirationTime: minted.sessionExpirationTime,
      tokenExpirationTime: minted.tokenExpirationTime,
    };
  };
}

// A connected ChatRoom of the official SDK.
async function join(roomArn, userId, capabilities) {
  const room = new ChatRoom({
    regionOrUrl: endpoint.replace(/^http/, "ws"),
    tokenProvider: tokens(roomArn, userId, capabilities),
    maxReconnectAttempts: 0,
  });
  room.logLevel = "error";
  const connected = next(room, "connect");
  room.connect();
  await connected;
  return room;
}

// `once` for the SDK's listeners: the next call of `eventName`, within 5 s.
function next(room, eventName) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${eventName}" within 5 s`)), 5_000);
    const unsubscribe = room.addListener(eventName, (value) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

async function newRoom(name, extra = {}) {
  const created = await chat().send(new CreateRoomCommand({ name, ...extra }));
  return created.arn;
}

test("two users exchange messages through the official SDK", async (t) => {
  const arn = await newRoom("js-chat");
  const ann = await join(arn, "ann", ["SEND_MESSAGE"]);
  const bob = await join(arn, "bob", ["SEND_MESSAGE"]);
  try {
    const heard = next(bob, "message");
    const sent = await ann.sendMessage(new SendMessageRequest("hello bob", { mood: "happy" }));
    assert.equal(sent.content, "hello bob");
    const message = await heard;
    assert.equal(message.id, sent.id);
    assert.equal(message.sender.userId, "ann");
    assert.deepEqual(message.sender.attributes, { name: "ann" });
    assert.deepEqual(message.attributes, { mood: "happy" });
    assert.ok(message.sendTime instanceof Date);
  } finally {
    ann.disconnect();
    bob.disconnect();
  }
});

test("a capability the token lacks is refused with 403", async (t) => {
  const arn = await newRoom("js-viewers");
  const viewer = await join(arn, "viewer", []);
  try {
    await assert.rejects(viewer.sendMessage(new SendMessageRequest("hi")), (err) => {
      assert.equal(err.errorCode, 403);
      return true;
    });
    await assert.rejects(viewer.deleteMessage(new DeleteMessageRequest("AAAAAAAAAAAA")), (err) => {
      assert.equal(err.errorCode, 403);
      return true;
    });
  } finally {
    viewer.disconnect();
  }
});

test("SendEvent, DeleteMessage and DisconnectUser reach the sockets", async (t) => {
  const arn = await newRoom("js-moderated");
  const ann = await join(arn, "ann", ["SEND_MESSAGE"]);
  const bob = await join(arn, "bob", []);
  try {
    const event = next(bob, "event");
    await chat().send(new SendEventCommand({ roomIdentifier: arn, eventName: "poll", attributes: { q: "1" } }));
    const got = await event;
    assert.equal(got.eventName, "poll");
    assert.deepEqual(got.attributes, { q: "1" });

    const sent = await ann.sendMessage(new SendMessageRequest("oops"));
    const deleted = next(bob, "messageDelete");
    await chat().send(new DeleteMessageCommand({ roomIdentifier: arn, id: sent.id, reason: "spam" }));
    const deletion = await deleted;
    assert.equal(deletion.messageId, sent.id);
    assert.equal(deletion.reason, "spam");

    const kicked = next(ann, "userDisconnect");
    const gone = next(bob, "disconnect");
    await chat().send(new DisconnectUserCommand({ roomIdentifier: arn, userId: "bob", reason: "rude" }));
    assert.equal((await kicked).userId, "bob");
    assert.equal(await gone, "serverDisconnect");
  } finally {
    ann.disconnect();
    bob.disconnect();
  }
});

test("a moderator's own frames delete messages and disconnect users", async (t) => {
  const arn = await newRoom("js-mods");
  const mod = await join(arn, "mod", ["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"]);
  const bob = await join(arn, "bob", ["SEND_MESSAGE"]);
  try {
    const sent = await bob.sendMessage(new SendMessageRequest("spam spam"));
    const deletion = await mod.deleteMessage(new DeleteMessageRequest(sent.id, "spam"));
    assert.equal(deletion.messageId, sent.id);
    const gone = next(bob, "disconnect");
    const event = await mod.disconnectUser(new DisconnectUserRequest("bob", "bye"));
    assert.equal(event.userId, "bob");
    assert.equal(await gone, "serverDisconnect");
  } finally {
    mod.disconnect();
    bob.disconnect();
  }
});

test("a token opens one connection only", async (t) => {
  const arn = await newRoom("js-once");
  const { token } = await tokens(arn, "ann", ["SEND_MESSAGE"])();
  const url = endpoint.replace(/^http/, "ws");
  const first = new WebSocket(url, token);
  await once(first, "open");
  assert.equal(first.protocol, token, "the token is the selected subprotocol");
  const second = new WebSocket(url, token);
  const [, response] = await once(second, "unexpected-response");
  assert.equal(response.statusCode, 401);
  first.close();
});

test("DeleteRoom closes the room's sockets", async (t) => {
  const arn = await newRoom("js-doomed");
  const ann = await join(arn, "ann", ["SEND_MESSAGE"]);
  const gone = next(ann, "disconnect");
  await chat().send(new DeleteRoomCommand({ identifier: arn }));
  assert.equal(await gone, "serverDisconnect");
});
