//! The binary payloads several fixtures share: a PNG image and a WAV clip.
//!
//! The suite only checks that image and audio blocks carry base64 data and
//! the right MIME type, but clients that render them need real files, so
//! both are valid: a 1x1 red PNG and a short silent PCM WAV.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A 1x1 red RGBA PNG, base64 encoded (signature, IHDR, IDAT, IEND, all
/// with valid CRCs).
pub(super) const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

/// MIME type of [`PNG_BASE64`].
pub(super) const PNG_MIME: &str = "image/png";

/// MIME type of [`wav_base64`]; the suite requires exactly this string.
pub(super) const WAV_MIME: &str = "audio/wav";

const WAV_SAMPLE_RATE: u32 = 8_000;
const WAV_SAMPLES: u32 = 80;

/// 10 ms of silence as a mono 16-bit PCM WAV file, base64 encoded.
pub(super) fn wav_base64() -> String {
    STANDARD.encode(wav_bytes())
}

/// The RIFF/WAVE file behind [`wav_base64`]: a 44-byte header and the
/// samples, with every size field consistent.
fn wav_bytes() -> Vec<u8> {
    const CHANNELS: u16 = 1;
    const BITS: u16 = 16;
    let block_align = CHANNELS * BITS / 8;
    let byte_rate = WAV_SAMPLE_RATE * u32::from(block_align);
    let data_len = WAV_SAMPLES * u32::from(block_align);
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&CHANNELS.to_le_bytes());
    out.extend_from_slice(&WAV_SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(out.len() + data_len as usize, 0);
    out
}
