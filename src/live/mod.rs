//! The data plane: what IVS serves besides its JSON APIs: the Chat Messaging WebSocket (`chat`),
//! the EventBridge events a server sends (`events`), the seam (`media`) between RTMP ingest and
//! what follows a live channel's media, and recordings to a folder standing for S3 (`recording`).

pub(crate) mod chat;
pub(crate) mod events;
#[allow(dead_code)] // Its producer (RTMP ingest) lands with the ingest branch.
pub(crate) mod media;
pub(crate) mod recording;
