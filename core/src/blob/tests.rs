#![allow(clippy::unwrap_used)]

use super::*;

fn key(n: u8) -> FileKey {
    FileKey::from_bytes([n; 32])
}

/// A file of `len` bytes whose every byte differs from its neighbours'.
fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn sealed(len: usize) -> (Vec<u8>, Holder) {
    let plain = file(len);
    let holder = Holder::new(seal(&key(1), &plain).unwrap());
    (plain, holder)
}

/// Downloads every segment through `encode`/`decode` and opens it: what a downloader does.
fn download(holder: &Holder, key: &FileKey) -> Result<Vec<u8>, BlobError> {
    let info = holder.info();
    let mut plain = Vec::new();
    let count = info.size.div_ceil(SEGMENT_BYTES).max(1);
    for index in 0..count {
        // Even an empty file has one sealed segment (its tag), so no range is empty.
        let range = segment_range(index, info.size);
        let response = holder.encode(range.clone())?;
        let bytes = decode(&info, range, &response)?;
        plain.extend(open_segment(key, info.size, index, &bytes)?);
    }
    Ok(plain)
}

#[test]
fn files_of_every_awkward_size_round_trip() {
    for len in [
        0,
        1,
        1023,
        SEGMENT_PLAIN_BYTES as usize - 1,
        SEGMENT_PLAIN_BYTES as usize,
        SEGMENT_PLAIN_BYTES as usize + 1,
        3 * SEGMENT_PLAIN_BYTES as usize + 12_345,
    ] {
        let (plain, holder) = sealed(len);
        assert_eq!(holder.info().size, sealed_len(len as u64), "{len}");
        assert_eq!(download(&holder, &key(1)).unwrap(), plain, "{len}");
    }
}

#[test]
fn the_address_is_of_the_sealed_bytes_and_differs_per_key() {
    let plain = file(100_000);
    let a = Holder::new(seal(&key(1), &plain).unwrap()).info();
    let b = Holder::new(seal(&key(2), &plain).unwrap()).info();
    assert_eq!(a, Holder::new(seal(&key(1), &plain).unwrap()).info());
    assert_ne!(a.id, b.id);
}

#[test]
fn a_tampered_group_is_caught_at_its_offset_and_nothing_of_it_is_returned() {
    let (_, holder) = sealed(5 * SEGMENT_PLAIN_BYTES as usize);
    let info = holder.info();
    let range = SEGMENT_BYTES..3 * SEGMENT_BYTES;
    let mut response = holder.encode(range.clone()).unwrap();
    assert_eq!(
        decode(&info, range.clone(), &response).unwrap().len(),
        2 * SEGMENT_BYTES as usize
    );
    // The response interleaves hashes and data; flip the last byte, which lies in the range's
    // last chunk group.
    let last = response.len() - 1;
    response[last] ^= 1;
    assert_eq!(
        decode(&info, range.clone(), &response),
        Err(BlobError::Mismatch {
            offset: range.end - GROUP_BYTES
        })
    );
    // A holder that serves another blob's bytes fails at the first group.
    let (_, other) = sealed(5 * SEGMENT_PLAIN_BYTES as usize + 1);
    let wrong = other.encode(range.clone()).unwrap();
    assert!(matches!(
        decode(&info, range, &wrong),
        Err(BlobError::Mismatch { .. })
    ));
}

#[test]
fn short_long_and_misaligned_responses_and_requests_are_refused() {
    let (_, holder) = sealed(2 * SEGMENT_PLAIN_BYTES as usize);
    let info = holder.info();
    let range = 0..SEGMENT_BYTES;
    let response = holder.encode(range.clone()).unwrap();
    let cut = &response[..response.len() - 100];
    assert!(matches!(
        decode(&info, range.clone(), cut),
        Err(BlobError::Truncated { .. })
    ));
    let mut long = response.clone();
    long.push(0);
    assert_eq!(decode(&info, range, &long), Err(BlobError::TrailingBytes));
    for bad in [5..GROUP_BYTES, 0..GROUP_BYTES + 1, 0..0, 0..info.size + 1] {
        assert!(matches!(
            holder.encode(bad.clone()),
            Err(BlobError::BadRange { .. })
        ));
        assert!(matches!(
            decode(&info, bad, &response),
            Err(BlobError::BadRange { .. })
        ));
    }
    // The blob's tail may end off a group boundary.
    assert!(holder.encode(SEGMENT_BYTES..info.size).is_ok());
    let (_, big) = sealed(20 * SEGMENT_PLAIN_BYTES as usize);
    assert_eq!(
        big.encode(0..MAX_RANGE_BYTES + GROUP_BYTES),
        Err(BlobError::RangeTooLarge(MAX_RANGE_BYTES + GROUP_BYTES))
    );
}

#[test]
fn segments_open_only_with_their_key_place_and_length() {
    let plain = file(2 * SEGMENT_PLAIN_BYTES as usize + 10);
    let sealed = seal(&key(1), &plain).unwrap();
    let size = sealed.len() as u64;
    let seg = |i: u64| {
        let r = segment_range(i, size);
        &sealed[r.start as usize..r.end as usize]
    };
    assert!(open_segment(&key(1), size, 1, seg(1)).is_ok());
    assert_eq!(
        open_segment(&key(2), size, 1, seg(1)),
        Err(BlobError::Open(1))
    );
    // Segment 0's bytes offered as segment 1: the nonce differs, so it does not open.
    assert_eq!(
        open_segment(&key(1), size, 1, seg(0)),
        Err(BlobError::Open(1))
    );
    // A blob cut after a full segment cannot pass that segment off as the last one.
    let cut = 2 * SEGMENT_BYTES;
    assert_eq!(
        open_segment(&key(1), cut, 1, seg(1)),
        Err(BlobError::Open(1))
    );
    assert!(matches!(
        open_segment(&key(1), size, 2, seg(1)),
        Err(BlobError::SegmentSize { index: 2, .. })
    ));
    assert_eq!(
        seal_segment(&key(1), MAX_FILE_BYTES + 1, 0, &[]),
        Err(BlobError::TooLarge(MAX_FILE_BYTES + 1))
    );
}

#[test]
fn the_file_key_never_shows_in_debug_output() {
    assert_eq!(format!("{:?}", key(0xab)), "FileKey(..)");
}

#[test]
fn a_file_page_names_exactly_what_a_downloader_verifies_against() {
    use crate::page::body::MAX_THUMBNAIL_BYTES;
    use crate::page::{Body, FileBody, PageKind};

    let plain = file(3 * SEGMENT_PLAIN_BYTES as usize + 7);
    let holder = Holder::new(seal(&key(5), &plain).unwrap());
    let page = FileBody {
        name: "field notes.pdf".into(),
        mime: "application/pdf".into(),
        size: plain.len() as u64,
        blob: holder.info().id,
        key: key(5),
        description: "week 3".into(),
        thumbnail: None,
    };
    assert_eq!(page.blob_info(), holder.info());
    let body = Body::File(page.clone());
    let decoded = Body::decode(PageKind::File, &body.encode()).unwrap();
    assert_eq!(decoded, body);
    let Body::File(decoded) = decoded else {
        unreachable!()
    };
    assert_eq!(download(&holder, &decoded.key).unwrap(), plain);

    // A thumbnail over its cap, or a file over the size cap, does not decode.
    let mut big = page.clone();
    big.thumbnail = Some(vec![0; MAX_THUMBNAIL_BYTES + 1]);
    assert!(Body::decode(PageKind::File, &Body::File(big).encode()).is_err());
    let mut huge = page;
    huge.size = MAX_FILE_BYTES + 1;
    assert!(Body::decode(PageKind::File, &Body::File(huge).encode()).is_err());
}

/// Awkward sealed sizes: one byte, inside the first group, on and around group, segment and
/// tree boundaries.
const SIZES: [usize; 9] = [
    1,
    1000,
    GROUP_BYTES as usize,
    GROUP_BYTES as usize + 1,
    2 * GROUP_BYTES as usize - 1,
    SEGMENT_BYTES as usize,
    3 * SEGMENT_BYTES as usize + 7,
    8 * SEGMENT_BYTES as usize,
    13 * GROUP_BYTES as usize + 5_000,
];

#[test]
fn hashing_piece_by_piece_gives_bao_trees_own_root_and_outboard() {
    use bao_tree::io::outboard::PostOrderMemOutboard;
    for (n, size) in SIZES.into_iter().enumerate() {
        let data = file(size);
        let expected = PostOrderMemOutboard::create(&data, BLOCK);
        // Slices of every length, including ones that cross chunk groups and empty ones.
        let mut hasher = TreeHasher::new(size as u64);
        let mut at = 0;
        let mut step = 1 + n * 997;
        while at < size {
            let end = (at + step).min(size);
            hasher.update(&data[at..end]).unwrap();
            hasher.update(&[]).unwrap();
            at = end;
            step = step * 3 % 40_000 + 1;
        }
        let outboard = hasher.finish().unwrap();
        assert_eq!(outboard.info().id.0, *expected.root.as_bytes(), "{size}");
        assert!(outboard.as_bytes() == &expected.data[..], "{size}");
        assert_eq!(outboard.info().size, size as u64);
    }
}

#[test]
fn a_hasher_refuses_more_or_fewer_bytes_than_the_blob_has() {
    let mut hasher = TreeHasher::new(10);
    assert_eq!(hasher.update(&[0; 11]), Err(BlobError::TrailingBytes));
    hasher.update(&[0; 4]).unwrap();
    assert_eq!(
        hasher.finish().map(|o| o.info()),
        Err(BlobError::Truncated { offset: 4 })
    );
}

#[test]
fn sealing_segment_by_segment_is_sealing_the_whole_file() {
    for len in [
        0,
        1,
        SEGMENT_PLAIN_BYTES as usize,
        2 * SEGMENT_PLAIN_BYTES as usize + 99,
    ] {
        let plain = file(len);
        let mut sealer = Sealer::new(key(3), len as u64).unwrap();
        let mut sealed = Vec::new();
        while let Some(range) = sealer.next_plain() {
            let (index, bytes) = sealer
                .push(&plain[range.start as usize..range.end as usize])
                .unwrap();
            assert_eq!(index * SEGMENT_BYTES, sealed.len() as u64);
            sealed.extend(bytes);
        }
        let outboard = sealer.finish().unwrap();
        assert!(sealed == seal(&key(3), &plain).unwrap(), "{len}");
        assert_eq!(outboard.info(), Holder::new(sealed).info(), "{len}");
    }
    assert_eq!(
        Sealer::new(key(3), MAX_FILE_BYTES + 1).map(|_| ()),
        Err(BlobError::TooLarge(MAX_FILE_BYTES + 1))
    );
}

#[test]
fn a_stored_outboard_serves_any_range_from_just_that_ranges_bytes() {
    let (_, holder) = sealed(6 * SEGMENT_PLAIN_BYTES as usize + 300);
    let info = holder.info();
    let stored = Outboard::from_stored(info, holder.outboard().as_bytes().to_vec()).unwrap();
    let sealed_bytes = {
        let mut all = Vec::new();
        for index in 0..info.size.div_ceil(SEGMENT_BYTES) {
            let range = segment_range(index, info.size);
            let answer = holder.encode(range.clone()).unwrap();
            all.extend(decode(&info, range, &answer).unwrap());
        }
        all
    };
    let range = 2 * GROUP_BYTES..info.size;
    let window = &sealed_bytes[range.start as usize..];
    let answer = serve(&stored, range.clone(), window).unwrap();
    assert!(answer == holder.encode(range.clone()).unwrap());
    assert!(decode(&info, range.clone(), &answer).unwrap() == window);
    // Bytes that rotted in storage, or the wrong amount of them, are never served.
    let mut rotten = window.to_vec();
    rotten[5] ^= 1;
    assert_eq!(
        serve(&stored, range.clone(), &rotten),
        Err(BlobError::NotHeld)
    );
    assert_eq!(
        serve(&stored, range.clone(), &window[1..]),
        Err(BlobError::NotHeld)
    );
    // So are hashes of the wrong length, or altered ones.
    assert_eq!(
        Outboard::from_stored(info, vec![0; 64]).map(|_| ()),
        Err(BlobError::NotHeld)
    );
    let mut altered = holder.outboard().as_bytes().to_vec();
    // The last pair in post order is the root's children, which every answer proves.
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let altered = Outboard::from_stored(info, altered).unwrap();
    assert_eq!(serve(&altered, range, window), Err(BlobError::NotHeld));
}
