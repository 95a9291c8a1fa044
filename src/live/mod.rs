//! The data plane: what IVS serves besides its JSON APIs. Today the Chat Messaging WebSocket
//! (`chat`); RTMP ingest, HLS playback and events will sit beside it, a folder or file each.

pub(crate) mod chat;
