const { ChannelNotBroadcasting, CreateChannelCommand, GetStreamCommand, IvsClient } = require("@aws-sdk/client-ivs");
const { ivsVcr } = require("./ivs-vcr");

test("a channel goes live when the test says a broadcaster connected", async () => {
  const ivs = new IvsClient({ maxAttempts: 1 });
  const { channel } = await ivs.send(new CreateChannelCommand({ name: "jest-live" }));
  await expect(ivs.send(new GetStreamCommand({ channelArn: channel.arn }))).rejects.toBeInstanceOf(ChannelNotBroadcasting);

  await ivsVcr.startStream(channel.arn, { viewerCount: 3 });
  const { stream } = await ivs.send(new GetStreamCommand({ channelArn: channel.arn }));
  expect(stream).toMatchObject({ state: "LIVE", viewerCount: 3 });

  await ivsVcr.stopStream(channel.arn);
  await expect(ivs.send(new GetStreamCommand({ channelArn: channel.arn }))).rejects.toBeInstanceOf(ChannelNotBroadcasting);
});
