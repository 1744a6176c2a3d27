//! The structure of delimited text, 64 bytes at a time: where the fields
//! and records end.
//!
//! The scan handles the *regular* form of CSV, which is what nearly every
//! file is: a field is either unquoted (no quote, CR or LF in it) or wholly
//! quoted (`"…"`, quotes doubled inside, then a delimiter or the end of the
//! record), and records end with LF or CRLF. Inside that form, whether a
//! byte is quoted is the parity of the quotes before it, so bit masks of the
//! quotes, delimiters and line ends give the structure without a branch per
//! byte. The scan checks the form as it goes and stops at the first byte
//! that breaks it (a quote inside an unquoted field, a lone CR, a blank
//! line…), where the reader hands over to `csv-core`, whose reading of such
//! bytes is the reference: the records the scan accepts are exactly the ones
//! `csv-core` would produce.

/// What one scan found, positions relative to the scanned slice.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Delimiters and record terminators outside quotes, ascending; a CRLF
    /// terminator is given by its CR.
    pub seps: Vec<u32>,
    /// Line feeds inside quoted fields (they count as lines).
    pub quoted_lf: Vec<u32>,
    /// Where the scan stopped: the first irregular byte, or the slice length.
    pub end: usize,
    /// Whether `end` is an irregular byte.
    pub irregular: bool,
    /// Whether the slice ends inside a quoted field (when not irregular).
    pub in_quotes: bool,
}

/// Whether the scan can read text with this delimiter: bytes that are
/// quotes or line ends already cannot also be delimiters.
pub(crate) fn supports(delimiter: u8) -> bool {
    !matches!(delimiter, b'"' | b'\r' | b'\n')
}

/// Bit `i` set where byte `i` of a 64-byte block is the quote, the
/// delimiter, LF or CR.
#[derive(Debug, Default, PartialEq, Eq)]
struct Masks {
    quote: u64,
    delim: u64,
    lf: u64,
    cr: u64,
}

#[cfg(target_arch = "x86_64")]
fn masks(block: &[u8; 64], delim: u8) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut m = Masks::default();
    // SAFETY: SSE2 is part of the x86_64 baseline, so the intrinsics exist
    // on every x86_64 CPU; each unaligned 16-byte load stays inside `block`.
    unsafe {
        let (q, d) = (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(delim as i8));
        let (lf, cr) = (_mm_set1_epi8(b'\n' as i8), _mm_set1_epi8(b'\r' as i8));
        for i in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * i) as *const __m128i);
            let bits = |c| (_mm_movemask_epi8(_mm_cmpeq_epi8(v, c)) as u16 as u64) << (16 * i);
            m.quote |= bits(q);
            m.delim |= bits(d);
            m.lf |= bits(lf);
            m.cr |= bits(cr);
        }
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(block: &[u8; 64], delim: u8) -> Masks {
    portable_masks(block, delim)
}

/// The masks byte by byte: the reference for the SIMD version.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn portable_masks(block: &[u8; 64], delim: u8) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        m.quote |= ((b == b'"') as u64) << i;
        m.delim |= ((b == delim) as u64) << i;
        m.lf |= ((b == b'\n') as u64) << i;
        m.cr |= ((b == b'\r') as u64) << i;
    }
    m
}

/// Bit `i` of the result is the XOR of bits `0..=i`: 1 from an opening
/// quote up to (not including) its closing quote.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Scans `data`, which starts at a record boundary, into `out`.
pub(crate) fn scan(data: &[u8], delim: u8, out: &mut Scan) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        unsafe { scan_avx2(data, delim, out) };
        return;
    }
    scan_with(data, delim, out, masks);
}

/// The scan with 32-byte compares, compiled for CPUs with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(data: &[u8], delim: u8, out: &mut Scan) {
    scan_with(data, delim, out, |block, delim| {
        use std::arch::x86_64::{
            __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
        };
        let mut m = Masks::default();
        // SAFETY: this closure only runs inside `scan_avx2`, on a CPU with
        // AVX2; each unaligned 32-byte load stays inside `block`.
        unsafe {
            let (q, d) = (_mm256_set1_epi8(b'"' as i8), _mm256_set1_epi8(delim as i8));
            let (lf, cr) = (_mm256_set1_epi8(b'\n' as i8), _mm256_set1_epi8(b'\r' as i8));
            for i in 0..2 {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * i) as *const __m256i);
                let bits =
                    |c| (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, c)) as u32 as u64) << (32 * i);
                m.quote |= bits(q);
                m.delim |= bits(d);
                m.lf |= bits(lf);
                m.cr |= bits(cr);
            }
        }
        m
    })
}

/// The scan, with `masks` finding the special bytes of a 64-byte block.
#[inline(always)]
fn scan_with(data: &[u8], delim: u8, out: &mut Scan, masks: impl Fn(&[u8; 64], u8) -> Masks) {
    debug_assert!(supports(delim));
    debug_assert!(data.len() <= u32::MAX as usize);
    out.seps.clear();
    out.quoted_lf.clear();
    out.irregular = false;
    // All ones while inside quotes at the end of the previous block.
    let mut inside = 0u64;
    // Bit 0 of each: the property of the byte before the block. The slice
    // starts a record, as if after a line feed.
    let mut c_open_ok = 1u64; // a quote here may open a field
    let mut c_closing = 0u64; // the byte before closed a quoted field
    let mut c_cr = 0u64; // the byte before is a CR terminator
    let mut c_lf = 1u64; // the byte before ended a record
    let mut last = [0u8; 64];
    for (n, chunk) in data.chunks(64).enumerate() {
        let base = n * 64;
        let (block, valid): (&[u8; 64], u64) = match chunk.try_into() {
            Ok(full) => (full, u64::MAX),
            Err(_) => {
                // The last, short block: the bytes past the end are masked off.
                last[..chunk.len()].copy_from_slice(chunk);
                (&last, (1u64 << chunk.len()) - 1)
            }
        };
        let mut m = masks(block, delim);
        m.quote &= valid;
        m.delim &= valid;
        m.lf &= valid;
        m.cr &= valid;

        let quoted = prefix_xor(m.quote) ^ inside;
        inside = ((quoted as i64) >> 63) as u64;
        let opening = m.quote & quoted;
        let closing = m.quote & !quoted;
        let delim_s = m.delim & !quoted;
        let lf_s = m.lf & !quoted;
        let cr_s = m.cr & !quoted;

        let open_ok = ((delim_s | lf_s | closing) << 1) | c_open_ok;
        let after_closing = (closing << 1) | c_closing;
        let after_cr = (cr_s << 1) | c_cr;
        let at_start = (lf_s << 1) | c_lf;
        // A quote that opens a field anywhere but at its start; a closing
        // quote followed by text; a CR without LF; an empty line.
        let bad = ((opening & !open_ok)
            | (after_closing & !(m.delim | m.lf | m.cr | m.quote))
            | (after_cr & !m.lf)
            | ((lf_s | cr_s) & at_start))
            & valid;
        c_open_ok = (delim_s | lf_s | closing) >> 63;
        c_closing = closing >> 63;
        c_cr = cr_s >> 63;
        c_lf = lf_s >> 63;

        // The LF of a CRLF is not a separator of its own.
        let mut seps = delim_s | cr_s | (lf_s & !after_cr);
        let mut qlf = m.lf & quoted;
        if bad != 0 {
            let at = bad.trailing_zeros();
            let before = (1u64 << at) - 1;
            seps &= before;
            qlf &= before;
            push_bits(&mut out.seps, seps, base);
            push_bits(&mut out.quoted_lf, qlf, base);
            out.end = base + at as usize;
            out.irregular = true;
            return;
        }
        push_bits(&mut out.seps, seps, base);
        push_bits(&mut out.quoted_lf, qlf, base);
    }
    out.end = data.len();
    out.in_quotes = inside != 0;
}

fn push_bits(out: &mut Vec<u32>, mut bits: u64, base: usize) {
    while bits != 0 {
        out.push(base as u32 + bits.trailing_zeros());
        bits &= bits - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Scan {
        let mut s = Scan::default();
        scan(text.as_bytes(), b',', &mut s);
        s
    }

    #[test]
    fn simd_masks_match_the_portable_ones() {
        let mut block = [0u8; 64];
        for round in 0..200u32 {
            for (i, b) in block.iter_mut().enumerate() {
                let x = (i as u32 * 7 + round * 13) % 11;
                *b = [
                    b'"', b',', b'\n', b'\r', b'a', b';', 0, 255, b' ', b'x', b'"',
                ][x as usize];
            }
            for d in [b',', b';', b'\t'] {
                assert_eq!(masks(&block, d), portable_masks(&block, d));
            }
            // The AVX2 scan against the SSE2 one, on text made of the block.
            let text = block.repeat(3);
            let (mut a, mut b) = (Scan::default(), Scan::default());
            scan(&text, b',', &mut a);
            scan_with(&text, b',', &mut b, masks);
            assert_eq!(
                (a.seps, a.quoted_lf, a.end, a.irregular),
                (b.seps, b.quoted_lf, b.end, b.irregular)
            );
        }
    }

    #[test]
    fn separators_skip_quoted_text_and_crlf() {
        let s = run("a,\"b,\"\"c\nd\"\r\ne,f\n");
        assert!(!s.irregular && !s.in_quotes);
        assert_eq!(s.seps, vec![1, 11, 14, 16]);
        assert_eq!(s.quoted_lf, vec![8]);
        assert_eq!(s.end, 17);
    }

    #[test]
    fn positions_cross_block_boundaries() {
        let long = "x".repeat(70);
        let text = format!("\"{long}\",{long}\n\"a\"\n");
        let s = run(&text);
        assert!(!s.irregular);
        assert_eq!(s.seps, vec![72, 143, 147]);
    }

    #[test]
    fn irregular_bytes_stop_the_scan() {
        for (text, at) in [
            ("ab\"c,d\n", 2),    // a quote inside an unquoted field
            ("\"ab\"c,d\n", 4),  // text after a closing quote
            ("a,b\rc\n", 4),     // a lone CR
            ("a\n\nb\n", 2),     // an empty line
            ("\na\n", 0),        // an empty line first
            ("a\r\n\r\nb\n", 3), // an empty CRLF line
            ("a,b\n x\"y\n", 6), // the quote in the second record
        ] {
            let s = run(text);
            assert!(s.irregular, "{text:?}");
            assert_eq!(s.end, at, "{text:?}");
            assert!(s.seps.iter().all(|&p| (p as usize) < at), "{text:?}");
        }
    }

    #[test]
    fn an_open_quote_at_the_end_is_reported() {
        let s = run("a,\"b\nc");
        assert!(!s.irregular && s.in_quotes);
        assert_eq!(s.seps, vec![1]);
        assert_eq!(s.quoted_lf, vec![4]);
    }
}
