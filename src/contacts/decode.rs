//! The byte stream under the CSV parser: always UTF-8, checked as it flows.
//!
//! [`Decoded`] reads the raw file (after any byte order mark) and hands out
//! UTF-8 in chunks through [`Decoded::fill`]. UTF-8 input passes through
//! unchanged while we validate it; any other encoding is converted with
//! `encoding_rs`. Nothing is ever replaced silently: the first invalid or
//! malformed byte is remembered as a [`Fault`] with its file offset and its
//! offset in the stream, and the record reader turns that into an error
//! naming the row that holds it. After the first fault we keep the stream
//! flowing (so the parser's record boundaries stay right) but stop checking.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8};

/// Size of each read from the file, and of the converted output chunks.
const CHUNK: usize = 64 * 1024;

/// The first byte that does not belong to the declared encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    /// Offset in the file, counting from 0 and including any BOM.
    pub raw_offset: u64,
    /// Offset in the UTF-8 stream handed to the parser.
    pub stream_offset: u64,
    /// The offending byte, for UTF-8 input (other encodings can fail on
    /// sequences, so we do not single out one byte there).
    pub byte: Option<u8>,
}

/// The UTF-8 stream that the record reader parses.
pub(crate) enum Decoded<R> {
    /// UTF-8 input, validated and passed through.
    Utf8(Utf8Check<R>),
    /// Any other encoding, converted to UTF-8.
    Convert(Box<Converter<R>>),
}

impl<R: Read> Decoded<R> {
    /// Builds the stream for `encoding` over `inner`, which must already be
    /// positioned after the `skipped` BOM bytes.
    pub(crate) fn new(inner: R, encoding: &'static Encoding, skipped: u64) -> Self {
        if encoding == UTF_8 {
            Decoded::Utf8(Utf8Check::new(inner, skipped))
        } else {
            Decoded::Convert(Box::new(Converter::new(inner, encoding, skipped)))
        }
    }

    /// Returns the next ready UTF-8 bytes (empty at the end of the file)
    /// along with the first fault found so far.
    pub(crate) fn fill(&mut self) -> io::Result<(&[u8], Option<Fault>)> {
        match self {
            Decoded::Utf8(check) => check.fill(),
            Decoded::Convert(conv) => conv.fill(),
        }
    }

    /// Marks `n` bytes of the last [`Decoded::fill`] as used.
    pub(crate) fn consume(&mut self, n: usize) {
        match self {
            Decoded::Utf8(check) => check.start += n,
            Decoded::Convert(conv) => conv.out_start += n,
        }
    }

    /// Number of raw file bytes read so far, BOM included.
    pub(crate) fn raw_read(&self) -> u64 {
        match self {
            Decoded::Utf8(check) => check.raw_read,
            Decoded::Convert(conv) => conv.raw_read,
        }
    }
}

/// Reads `buf.len()` bytes at most, retrying on interruption; 0 means the
/// end of the file.
fn read_some<R: Read>(inner: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match inner.read(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Validating pass-through for UTF-8 input.
///
/// The buffer holds `[start, ready)`: checked bytes not yet consumed, and
/// `[ready, end)`: at most three bytes of a character cut by the read
/// boundary, held back until the next read completes it.
pub(crate) struct Utf8Check<R> {
    /// The file.
    inner: R,
    /// Raw bytes, `CHUNK` long.
    buf: Box<[u8]>,
    /// First unconsumed byte.
    start: usize,
    /// End of the checked bytes.
    ready: usize,
    /// End of the bytes read.
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// BOM bytes skipped before the stream starts.
    skipped: u64,
    /// Raw bytes read from the file, BOM included.
    raw_read: u64,
    /// Whether the file has no more bytes.
    eof: bool,
    /// The first invalid byte, once found.
    fault: Option<Fault>,
}

impl<R: Read> Utf8Check<R> {
    /// Wraps `inner`, positioned after `skipped` BOM bytes.
    fn new(inner: R, skipped: u64) -> Self {
        Utf8Check {
            inner,
            buf: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            ready: 0,
            end: 0,
            base: skipped,
            skipped,
            raw_read: skipped,
            eof: false,
            fault: None,
        }
    }

    /// Returns checked bytes, reading and checking more when none are left.
    fn fill(&mut self) -> io::Result<(&[u8], Option<Fault>)> {
        while self.start >= self.ready && !(self.eof && self.ready == self.end) {
            self.refill()?;
        }
        Ok((&self.buf[self.start..self.ready], self.fault))
    }

    /// Moves the held-back tail to the front, reads more and checks it.
    fn refill(&mut self) -> io::Result<()> {
        let tail = self.end - self.ready;
        self.buf.copy_within(self.ready..self.end, 0);
        self.base += self.ready as u64;
        (self.start, self.ready, self.end) = (0, 0, tail);

        let n = read_some(&mut self.inner, &mut self.buf[tail..])?;
        self.raw_read += n as u64;
        self.end += n;
        self.eof = n == 0;
        self.ready = self.check(self.end);
        Ok(())
    }

    /// Checks `buf[..end]` and returns how much of it may be handed out.
    fn check(&mut self, end: usize) -> usize {
        if self.fault.is_some() {
            return end;
        }
        let err = match std::str::from_utf8(&self.buf[..end]) {
            Ok(_) => return end,
            Err(err) => err,
        };
        let bad = err.valid_up_to();
        if err.error_len().is_none() && !self.eof {
            // A character cut by the read boundary: hold its bytes back.
            return bad;
        }
        let raw_offset = self.base + bad as u64;
        self.fault = Some(Fault {
            raw_offset,
            stream_offset: raw_offset - self.skipped,
            byte: Some(self.buf[bad]),
        });
        end
    }
}

/// Converts a non-UTF-8 encoding into UTF-8 with `encoding_rs`.
pub(crate) struct Converter<R> {
    /// The file.
    inner: R,
    /// The incremental decoder, BOM handling off (we strip the BOM).
    decoder: Decoder,
    /// Raw bytes, `CHUNK` long, valid in `[raw_start, raw_end)`.
    raw: Box<[u8]>,
    /// First raw byte not yet given to the decoder.
    raw_start: usize,
    /// End of the raw bytes read.
    raw_end: usize,
    /// Raw bytes read from the file, BOM included.
    raw_read: u64,
    /// Raw bytes given to the decoder, BOM included.
    raw_decoded: u64,
    /// Converted bytes, valid in `[out_start, out_end)`.
    out: Box<[u8]>,
    /// First converted byte not yet consumed.
    out_start: usize,
    /// End of the converted bytes.
    out_end: usize,
    /// Stream bytes produced before `out[0]`.
    out_base: u64,
    /// Whether the file has no more bytes.
    eof: bool,
    /// Whether the decoder has been told the input ended and finished.
    finished: bool,
    /// The first malformed sequence, once found.
    fault: Option<Fault>,
}

impl<R: Read> Converter<R> {
    /// Wraps `inner`, positioned after `skipped` BOM bytes.
    fn new(inner: R, encoding: &'static Encoding, skipped: u64) -> Self {
        Converter {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            raw: vec![0; CHUNK].into_boxed_slice(),
            raw_start: 0,
            raw_end: 0,
            raw_read: skipped,
            raw_decoded: skipped,
            out: vec![0; CHUNK].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            out_base: 0,
            eof: false,
            finished: false,
            fault: None,
        }
    }

    /// Returns converted bytes, converting more when none are left.
    fn fill(&mut self) -> io::Result<(&[u8], Option<Fault>)> {
        while self.out_start >= self.out_end && !self.finished {
            self.out_base += self.out_end as u64;
            (self.out_start, self.out_end) = (0, 0);
            if self.raw_start >= self.raw_end && !self.eof {
                let n = read_some(&mut self.inner, &mut self.raw)?;
                (self.raw_start, self.raw_end) = (0, n);
                self.raw_read += n as u64;
                self.eof = n == 0;
            }
            self.convert();
        }
        Ok((&self.out[self.out_start..self.out_end], self.fault))
    }

    /// Runs the decoder once over the pending raw bytes.
    fn convert(&mut self) {
        let last = self.eof;
        let src = &self.raw[self.raw_start..self.raw_end];
        let dst = &mut self.out[self.out_end..];
        let (result, read, written) = self
            .decoder
            .decode_to_utf8_without_replacement(src, dst, last);
        self.raw_start += read;
        self.raw_decoded += read as u64;
        self.out_end += written;

        match result {
            DecoderResult::InputEmpty => self.finished = last,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, after) => self.note_malformed(bad, after),
        }
    }

    /// Records the first malformed sequence and puts a '?' in its place, so
    /// the record keeps its shape until the reader reports the fault.
    fn note_malformed(&mut self, bad: u8, after: u8) {
        if self.fault.is_none() {
            let back = u64::from(bad) + u64::from(after);
            self.fault = Some(Fault {
                raw_offset: self.raw_decoded.saturating_sub(back),
                stream_offset: self.out_base + self.out_end as u64,
                byte: None,
            });
        }
        if self.out_end < self.out.len() {
            self.out[self.out_end] = b'?';
            self.out_end += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{UTF_16LE, WINDOWS_1252};

    /// Reads the whole stream in chunks no larger than `step`.
    fn drain<R: Read>(mut stream: Decoded<R>, step: usize) -> (Vec<u8>, Option<Fault>) {
        let mut out = Vec::new();
        loop {
            let (chunk, _) = stream.fill().expect("in-memory read");
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len().min(step);
            out.extend_from_slice(&chunk[..n]);
            stream.consume(n);
        }
        let fault = stream.fill().expect("in-memory read").1;
        (out, fault)
    }

    /// A reader that returns one byte per call, to cut every character.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn utf8_passes_through_across_cut_characters() {
        let text = "Zoë,Øberg,“VIP” – 😀\n".repeat(3);
        let stream = Decoded::new(OneByte(text.as_bytes()), UTF_8, 0);
        let (out, fault) = drain(stream, 7);
        assert_eq!(out, text.as_bytes());
        assert_eq!(fault, None);
    }

    #[test]
    fn utf8_fault_has_file_and_stream_offsets() {
        let bytes = b"phone\n+1,Zo\xEB\n";
        let stream = Decoded::new(&bytes[..], UTF_8, 3);
        let (out, fault) = drain(stream, 100);
        assert_eq!(out, bytes, "bytes flow on after the fault");
        let fault = fault.expect("fault found");
        assert_eq!(fault.stream_offset, 11);
        assert_eq!(fault.raw_offset, 14);
        assert_eq!(fault.byte, Some(0xEB));
    }

    #[test]
    fn truncated_utf8_at_end_is_a_fault() {
        let stream = Decoded::new(OneByte(b"ab\xE2\x80"), UTF_8, 0);
        let (_, fault) = drain(stream, 1);
        assert_eq!(fault.map(|f| f.raw_offset), Some(2));
    }

    #[test]
    fn windows_1252_maps_every_byte() {
        let stream = Decoded::new(&b"\x80 \x93x\x94 \x96 Zo\xEB"[..], WINDOWS_1252, 0);
        let (out, fault) = drain(stream, 3);
        assert_eq!(String::from_utf8(out).unwrap(), "€ “x” – Zoë");
        assert_eq!(fault, None);
    }

    #[test]
    fn utf16_lone_surrogate_is_a_fault_not_a_replacement() {
        // "a,b\n" then an unpaired high surrogate, then "c".
        let bytes = b"a\0,\0b\0\n\0\x00\xD8c\0";
        let stream = Decoded::new(&bytes[..], UTF_16LE, 2);
        let (out, fault) = drain(stream, 100);
        assert!(!String::from_utf8_lossy(&out).contains('\u{FFFD}'));
        let fault = fault.expect("fault found");
        assert_eq!(fault.stream_offset, 4);
        assert_eq!(fault.raw_offset, 2 + 8);
    }
}
