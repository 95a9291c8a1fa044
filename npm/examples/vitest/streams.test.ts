import { expect, test } from "vitest";
import { ChannelNotBroadcasting, CreateChannelCommand, GetStreamCommand, IvsClient } from "@aws-sdk/client-ivs";
import { ivsVcr } from "./ivs-vcr";

test("a channel goes live when the test says a broadcaster connected", async () => {
  const ivs = new IvsClient({ maxAttempts: 1 });
  const { channel } = await ivs.send(new CreateChannelCommand({ name: "vitest-live" }));
  const arn = channel!.arn!;
  await expect(ivs.send(new GetStreamCommand({ channelArn: arn }))).rejects.toBeInstanceOf(ChannelNotBroadcasting);

  await ivsVcr.startStream(arn, { viewerCount: 3 });
  const { stream } = await ivs.send(new GetStreamCommand({ channelArn: arn }));
  expect(stream).toMatchObject({ state: "LIVE", viewerCount: 3 });

  await ivsVcr.stopStream(arn);
  await expect(ivs.send(new GetStreamCommand({ channelArn: arn }))).rejects.toBeInstanceOf(ChannelNotBroadcasting);
});
