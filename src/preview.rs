//! Preview images of a minute: the first key frame decoded with openh264 and written as a
//! full-size JPEG and a thumbnail about [`THUMB_WIDTH`] pixels wide. The JPEG encoder
//! ([`crate::jpeg`]) reads the decoder's 4:2:0 planes as they are: no RGB or full-size
//! chroma copy of the picture is ever made.

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil;
use crate::jpeg::Picture;
use crate::parameters::Parameters;
use crate::signature::Signature;
use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use std::path::Path;

/// Target width of thumbnails in pixels.
pub const THUMB_WIDTH: usize = 160;
/// JPEG quality of previews and thumbnails.
const QUALITY: u8 = 80;

/// The whole decoded picture, for the JPEG encoder.
fn planes_of<'a>(yuv: &'a DecodedYUV<'_>) -> Picture<'a> {
    let (width, height) = yuv.dimensions();
    let (ys, us, _) = yuv.strides();
    Picture {
        y: yuv.y(),
        u: yuv.u(),
        v: yuv.v(),
        strides: (ys, us),
        width,
        height,
    }
}

/// Makes previews. It keeps its decoder from one call to the next, so that a burst of
/// minute closes (every camera closes at the same boundary) pays once for the decoder's
/// ~27 MiB of zeroed buffers instead of once per camera; [`release`](Self::release) drops
/// it and hands the memory back when the burst is over.
#[derive(Default)]
pub struct Previewer {
    /// The decoder, while a burst lasts.
    decoder: Option<Decoder>,
}

impl Previewer {
    /// Decodes `annex_b` (SPS, PPS, then one key frame) and writes the preview to `jpg` and
    /// the thumbnail to `thumb`, atomically. A stream openh264 cannot decode (not 4:2:0,
    /// corrupt) gives an [`ErrorKind::Unsupported`] or [`ErrorKind::Corrupt`] error and
    /// writes nothing; the decoder is then dropped, so no state of a bad stream reaches the
    /// next picture. Returns the picture's size and its [`Signature`].
    pub fn write(
        &mut self,
        params: &Parameters,
        annex_b: &[u8],
        jpg: &Path,
        thumb: &Path,
    ) -> Result<Shot> {
        self.decode(params, annex_b, |yuv| {
            let (w, h) = write_jpegs(yuv, jpg, thumb)?;
            Ok(Shot {
                width: w,
                height: h,
                signature: signature_of(yuv),
            })
        })
    }

    /// The [`Signature`] of a key frame (SPS, PPS and the frame as Annex B), writing nothing.
    pub fn signature(&mut self, params: &Parameters, annex_b: &[u8]) -> Result<Signature> {
        self.decode(params, annex_b, |yuv| Ok(signature_of(yuv)))
    }

    /// Decodes one key frame and hands the picture to `use_it`.
    fn decode<T>(
        &mut self,
        params: &Parameters,
        annex_b: &[u8],
        use_it: impl FnOnce(&DecodedYUV<'_>) -> Result<T>,
    ) -> Result<T> {
        if params.codec != crate::codec::Codec::H264 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "no preview: H.265 is not decoded here (openh264 decodes H.264 only); give the camera an H.264 sub stream (sub_url) for previews",
            ));
        }
        let info = params.sps_info()?;
        if info.chroma_format_idc != 1 || info.bit_depth_luma_minus8 != 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "no preview: chroma format {} / {}-bit is not 4:2:0 8-bit, which openh264 needs",
                    info.chroma_format_idc,
                    8 + info.bit_depth_luma_minus8
                ),
            ));
        }
        let decoder = match &mut self.decoder {
            Some(d) => d,
            None => {
                let config = DecoderConfig::new().flush_after_decode(Flush::Flush);
                let d = Decoder::with_api_config(OpenH264API::from_source(), config)
                    .map_err(|e| Error::new(ErrorKind::Unsupported, format!("openh264: {e}")))?;
                self.decoder.insert(d)
            }
        };
        let lone = lone_picture(params, annex_b);
        let result = match decoder.decode(lone.as_deref().unwrap_or(annex_b)) {
            Ok(Some(yuv)) => use_it(&yuv),
            Ok(None) => Err(Error::corrupt("no preview: decoder returned no picture")),
            Err(e) => Err(Error::corrupt(format!(
                "no preview: key frame does not decode: {e}"
            ))),
        };
        if result.is_err() {
            self.decoder = None;
        }
        result
    }

    /// The key frame as a full-size JPEG in memory (a camera's test picture).
    pub fn jpeg(&mut self, params: &Parameters, annex_b: &[u8]) -> Result<Vec<u8>> {
        self.decode(params, annex_b, |yuv| encode(&planes_of(yuv)))
    }

    /// Drops the decoder, if any, and returns the freed memory to the system.
    pub fn release(&mut self) {
        if self.decoder.take().is_some() {
            crate::alloc::release();
        }
    }
}

/// `annex_b` (as [`Parameters::annex_b_of`] makes it: `params`' sets, then the frame) with
/// its SPS rewritten to ask for no reference pictures, or None when there is nothing to
/// rewrite. A lone key frame decodes the same either way; openh264 then keeps two pictures
/// instead of three.
fn lone_picture(params: &Parameters, annex_b: &[u8]) -> Option<Vec<u8>> {
    let rewritten = params.without_references()?;
    let mut head = Vec::new();
    params.to_annex_b(&mut head);
    let frame = annex_b.strip_prefix(head.as_slice())?;
    let mut out = Vec::with_capacity(annex_b.len());
    rewritten.to_annex_b(&mut out);
    out.extend_from_slice(frame);
    Some(out)
}

/// What a preview was made of.
#[derive(Clone, Debug)]
pub struct Shot {
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// The picture shrunk, for the change search.
    pub signature: Signature,
}

fn signature_of(yuv: &DecodedYUV<'_>) -> Signature {
    let (ys, us, _) = yuv.strides();
    Signature::from_planes((yuv.y(), yuv.u(), yuv.v()), (ys, us), yuv.dimensions())
}

/// [`Previewer::write`] with a decoder of its own, released before returning.
pub fn write_previews(
    params: &Parameters,
    annex_b: &[u8],
    jpg: &Path,
    thumb: &Path,
) -> Result<Shot> {
    let mut previewer = Previewer::default();
    let result = previewer.write(params, annex_b, jpg, thumb);
    previewer.release();
    result
}

fn write_jpegs(yuv: &DecodedYUV<'_>, jpg: &Path, thumb: &Path) -> Result<(u32, u32)> {
    let full = planes_of(yuv);
    let (width, height) = (full.width, full.height);
    let (ys, us) = full.strides;
    encode_to(jpg, &full)?;

    // Thumbnail: average `f` x `f` blocks of luma and the matching chroma blocks.
    let f = width.div_ceil(THUMB_WIDTH).max(1);
    let (tw, th) = (width / f, height / f);
    let (cw, ch) = (tw.div_ceil(2), th.div_ceil(2));
    let mut y = vec![0u8; tw * th];
    let mut u = vec![0u8; cw * ch];
    let mut v = vec![0u8; cw * ch];
    downscale(yuv.y(), ys, f, (tw, th), &mut y);
    // Chroma is half size: the same factor on the chroma plane keeps the 2:1 ratio.
    downscale(yuv.u(), us, f, (cw, ch), &mut u);
    downscale(yuv.v(), us, f, (cw, ch), &mut v);
    let small = Picture {
        y: &y,
        u: &u,
        v: &v,
        strides: (tw, cw),
        width: tw,
        height: th,
    };
    encode_to(thumb, &small)?;
    Ok((width as u32, height as u32))
}

/// Box-filters `src` (stride `stride`) by `f` into `dst` of size `w` x `h`: each output
/// pixel is the mean of the `f` x `f` block it covers (clipped at the picture's edges).
/// Rows are summed a block row at a time, so each source byte is read once, in order.
fn downscale(src: &[u8], stride: usize, f: usize, (w, h): (usize, usize), dst: &mut [u8]) {
    let stride = stride.max(1);
    let f = f.max(1);
    let rows = src.len() / stride;
    let mut sums = vec![0u32; w];
    let mut widths = vec![0u32; w];
    for oy in 0..h {
        sums.fill(0);
        widths.fill(0);
        let (y0, y1) = (oy * f, ((oy + 1) * f).min(rows));
        for sy in y0..y1 {
            let row = &src[sy * stride..(sy + 1) * stride];
            for ((sum, width), px) in sums.iter_mut().zip(&mut widths).zip(row.chunks(f)) {
                *sum += px.iter().map(|&p| u32::from(p)).sum::<u32>();
                *width = px.len() as u32;
            }
        }
        let n_rows = y1.saturating_sub(y0) as u32;
        for ((d, &sum), &width) in dst[oy * w..(oy + 1) * w].iter_mut().zip(&sums).zip(&widths) {
            *d = sum.checked_div(width * n_rows).unwrap_or(0) as u8;
        }
    }
}

fn encode_to(path: &Path, image: &Picture<'_>) -> Result<()> {
    let bytes = encode(image).map_err(|e| e.context(path.display()))?;
    fsutil::write_bytes_atomic(path, &bytes)
}

fn encode(image: &Picture<'_>) -> Result<Vec<u8>> {
    crate::jpeg::encode(image, QUALITY).ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            format!("no preview: picture is {}x{}", image.width, image.height),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{Parameters, downscale, lone_picture};

    #[test]
    fn a_lone_picture_has_the_sps_rewritten_and_the_frame_kept() {
        // x264's SPS of a 1080p main-profile stream (one reference), any PPS and frame.
        let sps = vec![
            0x67, 0x4d, 0x40, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00,
            0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xa0, 0x3c, 0x60, 0xc9, 0x20,
        ];
        let params = Parameters::h264(sps, vec![0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]);
        let frame = [0, 0, 0, 5, 0x65, 0x88, 0x84, 0x00, 0x33];
        let annex_b = params.annex_b_of(&frame).unwrap();
        let lone = lone_picture(&params, &annex_b).expect("rewritten");
        let expected = params
            .without_references()
            .unwrap()
            .annex_b_of(&frame)
            .unwrap();
        assert_eq!(lone, expected);
        assert_ne!(lone, annex_b);
        // Input not made from these parameters is left alone.
        assert_eq!(lone_picture(&params, &annex_b[4..]), None);
        assert_eq!(
            lone_picture(&params.without_references().unwrap(), &lone),
            None
        );
    }

    /// The mean of each block, computed the obvious way.
    fn naive(src: &[u8], stride: usize, width: usize, f: usize, (w, h): (usize, usize)) -> Vec<u8> {
        let rows = src.len() / stride;
        let mut out = vec![0u8; w * h];
        for oy in 0..h {
            for ox in 0..w {
                let (mut sum, mut n) = (0u32, 0u32);
                for y in oy * f..((oy + 1) * f).min(rows) {
                    for x in ox * f..((ox + 1) * f).min(width.max(stride)) {
                        sum += u32::from(src[y * stride + x]);
                        n += 1;
                    }
                }
                out[oy * w + ox] = sum.checked_div(n).unwrap_or(0) as u8;
            }
        }
        out
    }

    #[test]
    fn downscale_is_the_mean_of_each_block() {
        // 37 x 23 pixels with a stride of 40, a pattern with no two blocks alike.
        let (width, height, stride) = (37, 23, 40);
        let src: Vec<u8> = (0..stride * height).map(|i| (i * 7 % 251) as u8).collect();
        for f in [1, 2, 3, 5, 12] {
            let (w, h) = (width / f, height / f);
            let mut got = vec![0u8; w * h];
            downscale(&src, stride, f, (w, h), &mut got);
            assert_eq!(got, naive(&src, stride, width, f, (w, h)), "factor {f}");
        }
        // A block row cut short by the picture's bottom edge still averages what it has.
        let mut got = vec![0u8; 6 * 4];
        downscale(&src, stride, 6, (6, 4), &mut got);
        assert_eq!(got, naive(&src, stride, width, 6, (6, 4)));
    }
}
