//! The data plane: what IVS serves besides its JSON APIs: the Chat Messaging WebSocket (`chat`),
//! RTMP ingest (`ingest`), HLS playback (`hls`), the seam (`media`) between ingest and what
//! follows a live channel's media (playback, recordings), the EventBridge events a server sends
//! (`events`), and recordings to a folder standing for S3 (`recording`).

pub(crate) mod chat;
pub(crate) mod events;
pub(crate) mod hls;
pub(crate) mod ingest;
#[allow(dead_code)] // Its users land with RTMP ingest and recordings.
pub(crate) mod media;
pub(crate) mod recording;
