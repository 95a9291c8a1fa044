//! The data plane: what IVS serves besides its JSON APIs: the Chat Messaging WebSocket (`chat`),
//! RTMP ingest (`ingest`), HLS playback (`hls`), and the seam (`media`) between ingest and what
//! follows a live channel's media (playback, recordings).

pub(crate) mod chat;
#[allow(dead_code)] // Its producers land with the events issue.
pub(crate) mod events;
pub(crate) mod hls;
pub(crate) mod ingest;
#[allow(dead_code)] // Its users land with RTMP ingest and recordings.
pub(crate) mod media;
