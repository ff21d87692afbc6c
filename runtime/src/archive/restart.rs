//! The uploads' restart point: where a hoist archive's deflate stream can be inflated again from
//! scratch, so that an import reads the uploads on a second thread while the tree streams.
//!
//! The writer ends the compressed data before the first upload's tar header on a byte boundary
//! and resets its compressor ([`GzipAssembler::restart_point`](super::deflate::GzipAssembler)):
//! nothing after that point refers back to a byte before it. It records where the point is in the
//! gzip header's extra field (RFC 1952, FEXTRA), in a subfield `Ho` of 16 bytes: the offset in
//! the file of the first compressed byte after the point, then the offset in the tar of the first
//! upload's header, both little-endian `u64`. The header is written with zeros (no restart point:
//! an archive without uploads) and patched once the archive is complete.
//!
//! The reader takes the field as a claim, never as a fact. The verify pass proves it: a thread of
//! its own inflates from the recorded file offset with a fresh decoder, and the archive passes
//! only if that yields, byte for byte and up to the same gzip trailer, what reading the archive as
//! one stream yields from the first upload's header on, and if that header is at the recorded tar
//! offset. An archive without the field (another writer's) is read as one stream, uploads last.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use flate2::bufread::DeflateDecoder;
use sha2::{Digest as _, Sha256};

/// The subfield's id.
const SUBFIELD: [u8; 2] = *b"Ho";
/// The subfield's length: two `u64`.
const FIELD_LEN: usize = 16;
/// The gzip header hoist writes: the 10 fixed bytes, XLEN, the subfield's id and length, its data.
pub(crate) const HEADER_LEN: usize = 10 + 2 + 4 + FIELD_LEN;
/// Where in the file the subfield's data is (patched at the end of writing).
pub(crate) const FIELD_AT: u64 = (HEADER_LEN - FIELD_LEN) as u64;
/// Read buffer of the proving thread.
const READ_BUFFER: usize = 64 * 1024;

/// Where the uploads of an archive start, in the file and in the tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPoint {
    /// Offset in the file of the first compressed byte after the point.
    pub compressed: u64,
    /// Offset in the (uncompressed) tar of the first upload's header.
    pub offset: u64,
}

/// The gzip header for an archive, with an empty restart point ([`field`] fills it in): no file
/// name, mtime 0, OS 255, as flate2's `GzBuilder` writes it, plus the extra field.
pub(crate) fn gzip_header(xfl: u8) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    // ID1 ID2 CM FLG(FEXTRA) MTIME(4) XFL OS
    header[..10].copy_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, xfl, 255]);
    header[10..12].copy_from_slice(&((4 + FIELD_LEN) as u16).to_le_bytes());
    header[12..14].copy_from_slice(&SUBFIELD);
    header[14..16].copy_from_slice(&(FIELD_LEN as u16).to_le_bytes());
    header
}

/// The subfield's data for `point`.
pub(crate) fn field(point: RestartPoint) -> [u8; FIELD_LEN] {
    let mut data = [0u8; FIELD_LEN];
    data[..8].copy_from_slice(&point.compressed.to_le_bytes());
    data[8..].copy_from_slice(&point.offset.to_le_bytes());
    data
}

/// The restart point a gzip header's extra field records, if any. Subfields of other writers are
/// skipped; a `Ho` subfield of the wrong length is an error (it cannot be taken for ours).
pub(crate) fn from_extra(extra: Option<&[u8]>) -> Result<Option<RestartPoint>, String> {
    let Some(mut rest) = extra else {
        return Ok(None);
    };
    while rest.len() >= 4 {
        let id = [rest[0], rest[1]];
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let Some(data) = rest.get(4..4 + len) else {
            // Not a subfield layout: another writer's free-form extra field.
            return Ok(None);
        };
        if id == SUBFIELD {
            let data: &[u8; FIELD_LEN] = data
                .try_into()
                .map_err(|_| format!("its `Ho` subfield holds {len} bytes, not {FIELD_LEN}"))?;
            let (compressed, offset) = data.split_at(8);
            let number = |b: &[u8]| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(b);
                u64::from_le_bytes(bytes)
            };
            let point = RestartPoint {
                compressed: number(compressed),
                offset: number(offset),
            };
            return Ok((point.compressed != 0 || point.offset != 0).then_some(point));
        }
        rest = &rest[4 + len..];
    }
    Ok(None)
}

/// What inflating from a restart point to the end of the deflate stream yielded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    /// sha256 of the bytes.
    pub(crate) sha256: [u8; 32],
    /// Their number.
    pub(crate) bytes: u64,
}

/// sha256 and length of a running stream's bytes from a tar offset on.
pub(crate) struct TailDigest {
    from: u64,
    sha: Sha256,
    bytes: u64,
}

impl TailDigest {
    /// Takes the bytes at tar offsets `from` and later.
    pub(crate) fn new(from: u64) -> TailDigest {
        TailDigest {
            from,
            sha: Sha256::new(),
            bytes: 0,
        }
    }

    /// `buf`, which starts at tar offset `at`.
    pub(crate) fn update(&mut self, at: u64, buf: &[u8]) {
        let skip = self.from.saturating_sub(at);
        if let Some(tail) = usize::try_from(skip).ok().and_then(|s| buf.get(s..)) {
            self.sha.update(tail);
            self.bytes += tail.len() as u64;
        }
    }

    pub(crate) fn finish(self) -> Tail {
        Tail {
            sha256: self.sha.finalize().into(),
            bytes: self.bytes,
        }
    }
}

/// Inflates the file at `path` from `point` to the end of its deflate stream with a fresh
/// decoder, at most `max_bytes` of output; checks that exactly a gzip trailer (8 bytes) follows.
/// A description of the failure otherwise (the caller names the archive and the point). Stops
/// early, with an error, once `give_up` is set.
pub(crate) fn inflate_from(
    path: &Path,
    point: RestartPoint,
    max_bytes: u64,
    give_up: &AtomicBool,
) -> Result<Tail, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open the file: {e}"))?;
    file.seek(SeekFrom::Start(point.compressed))
        .map_err(|e| format!("cannot seek to it: {e}"))?;
    let mut decoder = DeflateDecoder::new(BufReader::with_capacity(READ_BUFFER, file));
    let mut digest = TailDigest::new(0);
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        if give_up.load(Ordering::Relaxed) {
            return Err("not proven: the archive failed another check".into());
        }
        let n = decoder
            .read(&mut buf)
            .map_err(|e| format!("the data from there does not inflate on its own: {e}"))?;
        if n == 0 {
            break;
        }
        digest.update(digest.bytes, &buf[..n]);
        if digest.bytes > max_bytes {
            return Err(format!("it inflates to more than {max_bytes} bytes"));
        }
    }
    match read_trailer(&mut decoder.into_inner()) {
        Ok(Some(_)) => Ok(digest.finish()),
        Ok(None) => Err("the deflate stream from there ends before the file's gzip trailer".into()),
        Err(e) => Err(format!("no gzip trailer after the data from there: {e}")),
    }
}

/// Reads what follows a raw deflate stream in `rest`: exactly a gzip trailer (CRC-32 and ISIZE,
/// little-endian), then the end of the file.
pub(crate) fn read_trailer(rest: &mut impl BufRead) -> io::Result<Option<(u32, u32)>> {
    let mut trailer = [0u8; 8];
    rest.read_exact(&mut trailer)?;
    if !rest.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    Ok(Some((crc, size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_round_trips_and_zeros_mean_none() {
        let point = RestartPoint {
            compressed: 123_456_789_012,
            offset: 987_654_321,
        };
        let header = gzip_header(0);
        let mut extra = header[12..].to_vec();
        assert_eq!(
            from_extra(Some(&extra)),
            Ok(None),
            "zeros: no restart point"
        );
        extra[4..].copy_from_slice(&field(point));
        assert_eq!(from_extra(Some(&extra)), Ok(Some(point)));
        // After another writer's subfield.
        let mut two = vec![b'X', b'y', 3, 0, 1, 2, 3];
        two.extend_from_slice(&extra);
        assert_eq!(from_extra(Some(&two)), Ok(Some(point)));
        assert_eq!(from_extra(None), Ok(None));
        // Free-form extra data of another writer.
        assert_eq!(from_extra(Some(&[1, 2, 3, 200, 9])), Ok(None));
        let short = [b'H', b'o', 8, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(
            from_extra(Some(&short))
                .unwrap_err()
                .contains("holds 8 bytes, not 16")
        );
    }

    #[test]
    fn the_tail_digest_takes_bytes_from_its_offset() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut whole = TailDigest::new(300);
        for (i, chunk) in data.chunks(77).enumerate() {
            whole.update((i * 77) as u64, chunk);
        }
        let mut direct = TailDigest::new(0);
        direct.update(0, &data[300..]);
        assert_eq!(whole.finish(), direct.finish());
    }
}
