//! POSIX `cksum`, computed here on the bytes `edit_file` read.
//!
//! `edit_file` writes its result back only if the file still holds the
//! bytes it edited. The remote recomputes `cksum` of the file right before
//! the rename and compares it with this value, computed locally over exactly
//! the bytes that were read, so a change between reading and writing (by
//! anyone) is caught instead of silently overwritten.

/// The CRC-32 table for the `cksum` polynomial (0x04C11DB7, MSB first).
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04C1_1DB7 } else { c << 1 };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// What `cksum < file` prints for a file holding `data`: `"<crc> <length>"`.
pub(super) fn cksum(data: &[u8]) -> String {
    let step = |crc: u32, byte: u8| (crc << 8) ^ TABLE[((crc >> 24) ^ u32::from(byte)) as usize & 0xff];
    let mut crc = data.iter().fold(0u32, |crc, &b| step(crc, b));
    let mut len = data.len() as u64;
    while len != 0 {
        crc = step(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    format!("{} {}", !crc, data.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_posix_utility() {
        // Values printed by GNU coreutils `cksum`.
        assert_eq!(cksum(b"123456789"), "930766865 9");
        assert_eq!(cksum(b""), "4294967295 0");
        assert_eq!(cksum(b"hello\n"), "3015617425 6");
        assert_eq!(cksum(&[b'a'; 300]), "1664553091 300");
    }
}
