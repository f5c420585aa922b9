//! Bounded capture of a stream: the first and last bytes plus the total count.

use std::collections::VecDeque;

/// A bounded copy of one output stream: up to `limit / 2` bytes of its head, up to
/// `limit / 2` of its tail, and the total number of bytes. When the stream fit in the limit,
/// [`Captured::bytes`] is the whole stream.
#[derive(Debug, Clone)]
pub struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    half: usize,
}

impl Captured {
    /// An empty capture keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        let half = (limit / 2).max(1);
        Self { head: Vec::new(), tail: VecDeque::new(), total: 0, half }
    }

    /// Appends a chunk of the stream.
    pub fn push(&mut self, mut chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if self.head.len() < self.half {
            let take = (self.half - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        if chunk.is_empty() {
            return;
        }
        if chunk.len() >= self.half {
            self.tail.clear();
            self.tail.extend(&chunk[chunk.len() - self.half..]);
        } else {
            let overflow = (self.tail.len() + chunk.len()).saturating_sub(self.half);
            self.tail.drain(..overflow);
            self.tail.extend(chunk);
        }
    }

    /// Total bytes the stream produced.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// True when nothing was dropped: [`Captured::bytes`] is the whole stream.
    pub fn is_complete(&self) -> bool {
        self.total == (self.head.len() + self.tail.len()) as u64
    }

    /// The kept bytes: the whole stream when complete, else head and tail joined by a marker.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        if !self.is_complete() {
            let omitted = self.total - (self.head.len() + self.tail.len()) as u64;
            out.extend_from_slice(format!("\n[... {omitted} bytes omitted ...]\n").as_bytes());
        }
        out.extend(self.tail.iter());
        out
    }

    /// [`Captured::bytes`] as lossy UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// The last `lines` lines of the kept text, trimmed of trailing whitespace.
    pub fn tail_lines(&self, lines: usize) -> String {
        greenlight_report::text::last_lines(&self.text(), lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_stream_is_complete() {
        let mut captured = Captured::new(16);
        captured.push(b"abc");
        captured.push(b"def");
        assert!(captured.is_complete());
        assert_eq!(captured.bytes(), b"abcdef");
    }

    #[test]
    fn large_stream_keeps_head_and_tail() {
        let mut captured = Captured::new(8);
        for chunk in [&b"0123"[..], b"4567", b"89ab", b"cdef"] {
            captured.push(chunk);
        }
        assert_eq!(captured.total(), 16);
        assert!(!captured.is_complete());
        let text = captured.text();
        assert!(text.starts_with("0123"), "{text}");
        assert!(text.ends_with("cdef"), "{text}");
        assert!(text.contains("8 bytes omitted"), "{text}");
    }

    #[test]
    fn one_huge_chunk() {
        let mut captured = Captured::new(4);
        captured.push(b"abcdefghij");
        assert_eq!(captured.text(), "ab\n[... 6 bytes omitted ...]\nij");
    }

    #[test]
    fn tail_of_lines() {
        let mut captured = Captured::new(64);
        captured.push(b"a\nb\nc\n\n");
        assert_eq!(captured.tail_lines(2), "b\nc");
        assert_eq!(captured.tail_lines(5), "a\nb\nc");
    }
}
