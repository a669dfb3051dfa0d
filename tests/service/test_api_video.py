"""Videos through the API: hashing, bank uploads, matching edited copies, hash-only vPDQ."""

from __future__ import annotations

from svc_helpers import Env
from tests.videos import clips


def test_hash_returns_vpdq_frames(env: Env) -> None:
    r = env.client.post("/v1/hash", files={"file": ("v.mp4", clips().original)}, headers=env.key("match"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "video"
    assert body["signals"]["vpdq"].startswith("vpdq-")  # the id, not hundreds of frames
    assert body["vpdq"] and set(body["vpdq"][0]) == {"frame", "timestamp", "pdq", "quality"}
    assert body["video"]["duration"] > 0


def test_an_edited_copy_of_a_bank_video_matches(env: Env) -> None:
    env.bank("videos")
    added = env.client.post(
        "/v1/banks/videos/entries", files={"file": ("orig.mp4", clips().original)}, headers=env.key()
    )
    assert added.status_code == 200, added.text
    env.refresh()
    copy = clips().copies["trimmed"]
    r = env.client.post("/v1/match", files={"file": ("copy.mp4", copy)}, headers=env.key("match"))
    assert r.status_code == 200, r.text
    body = r.json()
    video_matches = [m for m in body["matches"] if m["signal_type"] == "vpdq"]
    assert body["matched"] and video_matches
    assert video_matches[0]["video"]["query_percent"] >= 80
    assert video_matches[0]["video"]["segments"]  # matched time ranges on both sides
    unrelated = env.client.post(
        "/v1/match", files={"file": ("other.mp4", clips().unrelated[0])}, headers=env.key("match")
    ).json()
    assert not [m for m in unrelated["matches"] if m["signal_type"] == "vpdq"]
    # hash-only: a platform that never sends media sends the frames (or the vPDQ id)
    frames = env.client.post("/v1/hash", files={"file": ("copy.mp4", copy)}, headers=env.key("match")).json()
    lines = "\n".join(f"{f['frame']},{f['quality']},{f['pdq']},{f['timestamp']:.3f}" for f in frames["vpdq"])
    r = env.client.post("/v1/match", json={"signals": {"vpdq": lines}}, headers=env.key("match"))
    assert r.status_code == 200, r.text
    assert [m for m in r.json()["matches"] if m["signal_type"] == "vpdq"]
