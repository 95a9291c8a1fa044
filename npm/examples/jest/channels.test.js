// Code under test builds its client as an application does, with no endpoint in the code: the
// setup file's AWS_ENDPOINT_URL_IVS sends it to ivs-vcr.
const {
  CreateChannelCommand,
  GetChannelCommand,
  IvsClient,
  ListChannelsCommand,
  ResourceNotFoundException,
} = require("@aws-sdk/client-ivs");
const { ivsVcr } = require("./ivs-vcr");

const ivs = () => new IvsClient({ maxAttempts: 1 });

describe("channels", () => {
  test("a created channel can be read back", async () => {
    const { channel } = await ivs().send(new CreateChannelCommand({ name: "jest-channel" }));
    const got = await ivs().send(new GetChannelCommand({ arn: channel.arn }));
    expect(got.channel.name).toBe("jest-channel");
  });

  test("each test starts from an empty account", async () => {
    const { channels } = await ivs().send(new ListChannelsCommand({}));
    expect(channels).toEqual([]);
  });

  test("an unknown channel is IVS's ResourceNotFoundException", async () => {
    await expect(
      ivs().send(new GetChannelCommand({ arn: "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh" })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  test("an injected throttle reaches the SDK once", async () => {
    await ivsVcr.fault({ operation: "ListChannels", error: "ThrottlingException", times: 1 });
    await expect(ivs().send(new ListChannelsCommand({}))).rejects.toMatchObject({ name: "ThrottlingException" });
    await expect(ivs().send(new ListChannelsCommand({}))).resolves.toMatchObject({ channels: [] });
  });
});
