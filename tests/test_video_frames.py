"""vPDQ values: the text forms read and written, ids, the packed form, the signal types."""

from __future__ import annotations

import json

import pytest

from ohsc.errors import InvalidSignalError
from ohsc.signals import alias_signal_types, get_signal_type, guess_signal_types
from ohsc.signals.vpdq import VpdqSignal
from ohsc.signals.vpdq_frames import (
    FrameArrays,
    VpdqFrame,
    format_threatexchange,
    format_vpdq,
    is_vpdq_id,
    pack,
    parse_vpdq,
    unpack,
    vpdq_id,
)

A = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c"
B = "c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c"
C = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"

META_TXT = f"0,100,{A},0.000\n30,98,{B},1.000\n60,12,{C},2.000\n"


def test_meta_threatexchange_and_ohsc_forms_read_the_same() -> None:
    meta = parse_vpdq(META_TXT)
    assert [(f.frame, f.quality, f.pdq, f.timestamp) for f in meta] == [
        (0, 100, A, 0.0),
        (30, 98, B, 1.0),
        (60, 12, C, 2.0),
    ]
    te = parse_vpdq(format_threatexchange(meta))  # HMA: frame numbers are not carried
    ours = parse_vpdq(json.dumps([f.to_dict() for f in meta]))
    old_te = parse_vpdq(
        json.dumps(
            {str(f.frame): {"quality": f.quality, "hash": f.pdq, "timestamp": f.timestamp} for f in meta}
        )
    )
    assert ours == meta
    assert old_te == meta
    assert [f.pdq for f in te] == [f.pdq for f in meta]
    assert vpdq_id(te) == vpdq_id(meta) == vpdq_id(ours)  # the id ignores frame numbers and form
    assert parse_vpdq(format_vpdq(meta)) == meta
    assert parse_vpdq(META_TXT.replace("\n", ";").upper().replace("E271", "e271")) == meta


def test_ids_depend_on_hashes_qualities_and_times() -> None:
    frames = parse_vpdq(META_TXT)
    base = vpdq_id(frames)
    assert is_vpdq_id(base)
    assert base.startswith("vpdq-")
    assert len(base) == 69
    assert vpdq_id(list(reversed(frames))) == base
    moved = [VpdqFrame(f.frame, f.timestamp + 0.001, f.pdq, f.quality) for f in frames]
    assert vpdq_id(moved) != base
    with_variants = [VpdqFrame(f.frame, f.timestamp, f.pdq, f.quality, (C,)) for f in frames]
    assert vpdq_id(with_variants) == base  # variants help matching; they are not the vPDQ


def test_variants_travel_in_a_fifth_field_and_in_the_packed_form() -> None:
    frames = [VpdqFrame(0, 0.0, A, 100, (B, C)), VpdqFrame(10, 1.0, B, 90)]
    text = format_vpdq(frames)
    assert text == f"0,100,{A},0.000,{B}|{C};10,90,{B},1.000"
    assert parse_vpdq(text) == frames
    assert format_vpdq(frames, variants=False) == f"0,100,{A},0.000;10,90,{B},1.000"
    arrays = unpack(pack(frames))
    assert arrays.to_frames() == frames
    assert arrays.to_frames(variants=False)[0].variants == ()
    assert FrameArrays.from_frames(frames).variants(0).shape == (2, 32)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no frames"),
        ("0,100,abc,0.0", "64-hex-digit"),
        (f"0,101,{A},0.0", "quality must be 0..100"),
        (f"0,100,{A},-1", "timestamp"),
        (f"x,100,{A},0.0", "frame is not an integer"),
        (f"0,100,{A},soon", "timestamp is not a number"),
        ("0,100", "'frame,quality,pdq,timestamp'"),
        (f"0,100,{A}", "timestamp is not a number"),
        ("[1, 2]", "strings or objects"),
        ('[{"pdq": "' + A + '"}]', "needs pdq, quality and timestamp"),
        ("[not json", "not valid JSON"),
    ],
)
def test_bad_values_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidSignalError, match=message):
        parse_vpdq(text)


def test_packed_form_is_checked() -> None:
    blob = pack(parse_vpdq(META_TXT))
    with pytest.raises(ValueError, match="wrong length"):
        unpack(blob[:-1])
    with pytest.raises(ValueError, match="not a packed"):
        unpack(b"x" + blob)


def test_video_signal_types() -> None:
    vpdq = get_signal_type("vpdq")
    assert vpdq is VpdqSignal
    assert vpdq.has_payload
    assert vpdq.is_distance
    canonical = vpdq.validate(META_TXT)
    assert canonical == format_vpdq(parse_vpdq(META_TXT))
    ref = VpdqSignal.reference(canonical)
    assert vpdq.validate(ref.upper()) == ref
    assert VpdqSignal.distance(canonical, ref) == 0
    assert get_signal_type("video_md5").validate("D41D8CD98F00B204E9800998ECF8427E") == (
        "d41d8cd98f00b204e9800998ecf8427e"
    )
    # a bare digest is still only md5 / sha256 and pdq; video digests are found as aliases
    assert guess_signal_types("d41d8cd98f00b204e9800998ecf8427e") == ["md5"]
    assert sorted(guess_signal_types(A)) == ["pdq", "sha256"]
    assert guess_signal_types(ref) == ["vpdq"]
    assert alias_signal_types("md5") == ["video_md5"]
    assert alias_signal_types("video_sha256") == ["sha256"]
    assert alias_signal_types("pdq") == []
