//! What a room's logging configurations would deliver: every MESSAGE and EVENT of the room as a
//! log record in the documented format
//! (<https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/chat-logging.html>):
//! `{"event_timestamp", "type": "MESSAGE" | "EVENT", "version", "payload": <the frame>}`.
//!
//! The newest records (with the logging configuration's ARN beside each) are kept in a bounded
//! ring that `GET /_ivs-vcr/state` shows; with `--chat-log-dir DIR`, each record is also appended
//! as one JSON line to `DIR/<logging configuration id>.jsonl`, standing for the S3 bucket, log
//! group or delivery stream. The lines are written by a thread of their own, so that a slow disk
//! never holds the room; a record that finds the writer's queue full is dropped and counted.
//! Nothing reaches S3, CloudWatch Logs or Firehose, and S3's object layout and the delivery
//! delays are not reproduced. `version` is `"1.0"` (inferred: the guide shows only a string).

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::ChatLogging;
use crate::http::Side;

/// How many records the control plane shows, the newest.
const RECENT_RECORDS: usize = 1_000;

/// How many lines wait for the writer at most.
const WRITER_QUEUE: usize = 16_384;

/// The logging records kept, and the writer of `--chat-log-dir`.
#[derive(Debug)]
pub(crate) struct ChatLog {
    recent: Mutex<VecDeque<Value>>,
    writer: Option<SyncSender<(String, String)>>,
    dropped: AtomicU64,
}

impl ChatLog {
    pub(crate) fn new(dir: Option<PathBuf>) -> ChatLog {
        let writer = dir.and_then(|dir| {
            let (tx, rx) = sync_channel::<(String, String)>(WRITER_QUEUE);
            let spawned = std::thread::Builder::new()
                .name("chat-log".into())
                .spawn(move || write_lines(&dir, rx));
            match spawned {
                Ok(_) => Some(tx),
                Err(err) => {
                    tracing::error!(side = %Side::Internal, error = %err, "cannot start the chat log writer; chat logs are kept in memory only");
                    None
                }
            }
        });
        ChatLog {
            recent: Mutex::new(VecDeque::new()),
            writer,
            dropped: AtomicU64::new(0),
        }
    }

    /// Records `frame` (a MESSAGE or EVENT) once for each of the room's logging configurations.
    pub(crate) fn record(&self, logging: &[ChatLogging], frame: &Value) {
        let kind = frame.get("Type").and_then(Value::as_str).unwrap_or("EVENT");
        let timestamp = frame
            .get("SendTime")
            .and_then(Value::as_str)
            .map_or_else(super::hub::send_time, str::to_owned);
        let record = json!({
            "event_timestamp": timestamp,
            "type": kind,
            "version": "1.0",
            "payload": frame,
        });
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for config in logging {
            if let Some(writer) = &self.writer {
                match writer.try_send((file_name(&config.arn), record.to_string())) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if recent.len() == RECENT_RECORDS {
                recent.pop_front();
            }
            recent.push_back(json!({
                "loggingConfigurationArn": config.arn,
                "destinationConfiguration": config.destination,
                "record": record,
            }));
        }
    }

    /// The records kept, oldest first.
    pub(crate) fn recent(&self) -> Value {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        Value::Array(recent.iter().cloned().collect())
    }

    /// Forgets the records kept (the files stay).
    pub(crate) fn clear(&self) {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// A logging configuration's file: its id (the ARN's last segment), kept to `[A-Za-z0-9-]`
/// so that no ARN can name a path outside the folder.
pub(crate) fn file_name(arn: &str) -> String {
    let id: String = arn
        .rsplit('/')
        .next()
        .unwrap_or(arn)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if id.is_empty() {
        "logging-configuration.jsonl".to_owned()
    } else {
        format!("{id}.jsonl")
    }
}

/// The writer thread: appends each line to its file, until the hub is dropped.
fn write_lines(dir: &std::path::Path, rx: std::sync::mpsc::Receiver<(String, String)>) {
    let mut files: HashMap<String, std::fs::File> = HashMap::new();
    for (name, line) in rx {
        let file = match files.entry(name) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let path = dir.join(e.key());
                match std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                {
                    Ok(file) => e.insert(file),
                    Err(err) => {
                        tracing::error!(side = %Side::Internal, path = %path.display(), error = %err, "cannot open the chat log");
                        continue;
                    }
                }
            }
        };
        if let Err(err) = writeln!(file, "{line}") {
            tracing::error!(side = %Side::Internal, error = %err, "cannot write the chat log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logging_configuration_file_is_named_by_its_id_only() {
        assert_eq!(
            file_name("arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcd1234EFgh"),
            "ABcd1234EFgh.jsonl"
        );
        assert_eq!(
            file_name("arn:x:logging-configuration/../../etc"),
            "etc.jsonl"
        );
        assert_eq!(file_name("///"), "logging-configuration.jsonl");
    }

    #[test]
    fn records_follow_the_documented_format_and_reach_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let log = ChatLog::new(Some(dir.path().to_owned()));
        let logging = [ChatLogging {
            arn: "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/L1".into(),
            destination: json!({"s3": {"bucketName": "b"}}),
        }];
        let frame = json!({"Type": "MESSAGE", "Id": "M", "Content": "hi", "SendTime": "2024-01-01T00:00:00.000Z"});
        log.record(&logging, &frame);
        let expected = json!({"event_timestamp": "2024-01-01T00:00:00.000Z", "type": "MESSAGE", "version": "1.0", "payload": frame});
        assert_eq!(log.recent()[0]["record"], expected);
        drop(log);
        let path = dir.path().join("L1.jsonl");
        for _ in 0..200 {
            if std::fs::read_to_string(&path).is_ok_and(|t| t.ends_with('\n')) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(text.trim()).unwrap(),
            expected
        );
    }
}
