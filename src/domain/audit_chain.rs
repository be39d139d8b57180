//! The audit hash chain's rules without a database: the hash of a link, an organization's head,
//! and checkpoints (saved heads, written and read as JSON lines).

use crate::crypto::sha256_hex;

/// The `prev_hash` of an organization's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a link: SHA-256 of the previous event's hash, a newline, and this event's
/// canonical content.
pub fn link_hash(prev_hash: &str, canonical: &str) -> String {
    let mut data = Vec::with_capacity(prev_hash.len() + 1 + canonical.len());
    data.extend_from_slice(prev_hash.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(canonical.as_bytes());
    sha256_hex(&data)
}

/// The newest event of an organization's chain: its position and its hash. Whoever holds a
/// copy of it can later prove that every event up to it is unchanged and still there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The first characters of the hash, enough to compare by eye.
    pub fn short_hash(&self) -> &str {
        self.hash.get(..12).unwrap_or(&self.hash)
    }
}

/// One line of a checkpoint file: an organization's head when the checkpoint was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedHead {
    pub org_id: String,
    pub seq: i64,
    pub hash: String,
    /// RFC 3339, UTC.
    pub written_at: String,
}

impl SavedHead {
    /// The line this head takes in a checkpoint file (without its newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads a checkpoint file: one JSON object per line
/// (`{"org_id":…,"seq":…,"hash":…,"written_at":…}`); blank lines and lines starting with `#`
/// are skipped. An organization may appear once.
pub fn parse_checkpoint(text: &str) -> Result<Vec<SavedHead>, String> {
    let mut heads: Vec<SavedHead> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let head: SavedHead =
            serde_json::from_str(line).map_err(|e| format!("checkpoint line {}: not a saved head ({e})", i + 1))?;
        if head.seq < 1 || head.hash.len() != 64 || !head.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("checkpoint line {}: a head has a position from 1 and a 64-digit hex hash", i + 1));
        }
        if heads.iter().any(|h| h.org_id == head.org_id) {
            return Err(format!("checkpoint line {}: organization {} appears twice", i + 1, head.org_id));
        }
        heads.push(head);
    }
    Ok(heads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(org: &str, seq: i64) -> SavedHead {
        SavedHead { org_id: org.into(), seq, hash: "ab".repeat(32), written_at: "2026-12-01T10:00:00Z".into() }
    }

    #[test]
    fn a_checkpoint_reads_back_what_was_written() {
        let heads = vec![head("o1", 3), head("o2", 1)];
        let text: String = heads.iter().map(|h| h.to_line() + "\n").collect();
        assert_eq!(parse_checkpoint(&format!("# saved heads\n\n{text}")).unwrap(), heads);
    }

    #[test]
    fn a_malformed_checkpoint_is_refused_naming_the_line() {
        assert!(parse_checkpoint("nonsense").unwrap_err().contains("line 1"));
        let twice = format!("{}\n{}", head("o1", 1).to_line(), head("o1", 2).to_line());
        assert!(parse_checkpoint(&twice).unwrap_err().contains("twice"));
        let short = SavedHead { hash: "abc".into(), ..head("o1", 1) };
        assert!(parse_checkpoint(&short.to_line()).is_err());
        assert!(parse_checkpoint(&head("o1", 0).to_line()).is_err());
    }

    #[test]
    fn a_link_hashes_the_previous_hash_a_newline_and_the_content() {
        assert_eq!(link_hash("p", "c"), sha256_hex(b"p\nc"));
    }
}
