//! A byte buffer that writes ISO BMFF boxes: open a box, fill it, close it to patch its size.

/// Builds boxes into a `Vec<u8>`.
#[derive(Default)]
pub struct BoxBuf {
    /// The bytes so far.
    pub buf: Vec<u8>,
}

impl BoxBuf {
    /// Opens a box of type `fourcc`; returns its start for [`end`](Self::end).
    pub fn start(&mut self, fourcc: &[u8; 4]) -> usize {
        let at = self.buf.len();
        self.u32(0);
        self.buf.extend_from_slice(fourcc);
        at
    }

    /// Opens a full box (version and flags).
    pub fn start_full(&mut self, fourcc: &[u8; 4], version: u8, flags: u32) -> usize {
        let at = self.start(fourcc);
        self.u32(u32::from(version) << 24 | (flags & 0x00ff_ffff));
        at
    }

    /// Closes the box opened at `at`, writing its size.
    pub fn end(&mut self, at: usize) {
        let size = (self.buf.len() - at) as u32;
        self.buf[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }

    /// Appends a big-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a `u32` or a `u64`, as a version-0 or version-1 full box wants.
    pub fn u32_or_64(&mut self, wide: bool, v: u64) {
        if wide {
            self.u64(v);
        } else {
            self.u32(v as u32);
        }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends `n` zero bytes.
    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Appends the unity transformation matrix of `mvhd` and `tkhd`.
    pub fn unity_matrix(&mut self) {
        for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
    }
}
