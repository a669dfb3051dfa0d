"""``ohsc deter``, ``ohsc directory`` and ``ohsc trace`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ohsc.cli import main
from ohsc.demo.synth import jpeg_bytes, picture


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "en.txt"
    path.write_text("# invented words\nzorblat\nvextor prane\n", encoding="utf-8")
    return path


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_deter_check_prints_the_api_json(runner: CliRunner, terms: Path) -> None:
    result = runner.invoke(
        main, ["deter", "check", "--terms", str(terms), "--country", "GB", "z.o.r.b.l.a.t"]
    )
    assert result.exit_code == 0, result.output
    [answer] = lines(result.output)
    assert answer["triggered"] is True
    assert answer["list"] == "en"
    assert isinstance(answer["message"], dict)
    resources = answer["resources"]
    assert isinstance(resources, list)
    assert resources[0]["name"] == "Stop It Now helpline (UK and Ireland)"
    result = runner.invoke(main, ["deter", "check", "--terms", str(terms), "--locale", "es", "nothing"])
    assert lines(result.output) == [
        {"triggered": False, "list": None, "lists": [], "message": None, "resources": [], "locale": "es"}
    ]


def test_deter_check_batch_is_json_lines(runner: CliRunner, terms: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text("hello\nVEXTOR-prane\n\nz0rbl4t99\n", encoding="utf-8")
    result = runner.invoke(
        main, ["deter", "check", "--terms", str(terms), "--batch", str(batch), "--explain"]
    )
    assert result.exit_code == 0, result.output
    answers = lines(result.output)
    assert [a["triggered"] for a in answers] == [False, True, False, True]
    assert answers[1]["matched"] == [{"list": "en", "kind": "phrase", "entry": "vextor prane"}]
    result = runner.invoke(
        main, ["deter", "check", "--terms", str(terms), "--batch", "-"], input="zorblat\nno\n"
    )
    assert [a["triggered"] for a in lines(result.output)] == [True, False]


def test_deter_check_needs_text_or_batch(runner: CliRunner, terms: Path) -> None:
    result = runner.invoke(main, ["deter", "check", "--terms", str(terms)])
    assert result.exit_code == 2
    assert "give either TEXT or --batch" in result.output


def test_deter_uses_the_lists_directory_and_counts_when_asked(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists_dir = tmp_path / "lists"
    lists_dir.mkdir()
    (lists_dir / "de.toml").write_text('terms = ["plemt"]\n', encoding="utf-8")
    (lists_dir / "broken.txt").write_text("x\n", encoding="utf-8")
    monkeypatch.setenv("OHSC_DETER_LISTS_DIR", str(lists_dir))
    result = runner.invoke(main, ["deter", "check", "--count", "plemt"])
    assert result.exit_code == 0, result.output
    assert lines(result.output)[0]["message"]["locale"] == "de"  # type: ignore[index]
    assert "broken.txt:1" in result.output
    status = json.loads(runner.invoke(main, ["deter", "lists", "--json"]).output)
    assert [tl["name"] for tl in status["lists"]] == ["de"]
    assert status["errors"] == [
        "broken.txt:1: too short: a term needs at least 2 letters after normalisation"
    ]
    stats = json.loads(runner.invoke(main, ["deter", "stats", "--days", "2", "--json"]).output)
    assert stats["series"]["checks"][-1] == 1
    assert stats["triggers_by_list"] == [["de", 1]]
    table = runner.invoke(main, ["deter", "stats", "--days", "2"])
    assert "triggers by list: de 1" in table.output


def test_deter_validate_and_messages(runner: CliRunner, terms: Path, tmp_path: Path) -> None:
    ok = runner.invoke(main, ["deter", "validate", str(terms)])
    assert ok.exit_code == 0
    assert "2 terms" not in ok.output
    assert "1 terms, 1 phrases" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text("terms = ['ok', 'two words']\n", encoding="utf-8")
    result = runner.invoke(main, ["deter", "validate", str(terms), str(bad)])
    assert result.exit_code == 2
    assert "list it under 'phrases'" in result.output
    msg = json.loads(runner.invoke(main, ["deter", "messages", "--locale", "nl", "--json"]).output)
    assert (msg["locale"], msg["id"]) == ("nl", "deterrence.default")
    assert "de:1" in runner.invoke(main, ["deter", "messages"]).output


def test_directory_commands(runner: CliRunner) -> None:
    listed = lines(runner.invoke(main, ["directory", "list", "--country", "DE", "--json"]).output)
    assert listed[0]["countries"] == ["DE"]
    added = runner.invoke(
        main,
        [
            "directory",
            "add",
            "--name",
            "Example line",
            "--country",
            "NL",
            "--language",
            "nl",
            "--audience",
            "self",
            "--url",
            "https://example.org",
        ],
    )
    assert added.exit_code == 0, added.output
    service_id = added.output.split()[2].rstrip(":")
    edited = runner.invoke(main, ["directory", "edit", service_id, "--phone", "0800 123", "--disable"])
    assert edited.exit_code == 0, edited.output
    shown = json.loads(runner.invoke(main, ["directory", "show", service_id]).output)
    assert (shown["phone"], shown["enabled"]) == ("0800 123", False)
    bad = runner.invoke(main, ["directory", "edit", service_id, "--url", "javascript:alert(1)"])
    assert bad.exit_code == 2
    assert runner.invoke(main, ["directory", "remove", service_id]).exit_code == 0
    assert runner.invoke(main, ["directory", "show", service_id]).exit_code == 4
    assert "0 added" in runner.invoke(main, ["directory", "seed"]).output


def test_trace_commands(runner: CliRunner, tmp_path: Path) -> None:
    image = tmp_path / "object.jpg"
    image.write_bytes(jpeg_bytes(picture(5)))
    created = runner.invoke(
        main, ["trace", "add", str(image), "--category", "toys", "--question", "Where is this sold?"]
    )
    assert created.exit_code == 0, created.output
    object_id = created.output.split()[1]
    assert "now pending" in runner.invoke(main, ["trace", "submit", object_id]).output
    refused = runner.invoke(main, ["trace", "approve", object_id])
    assert refused.exit_code == 6  # the same person cannot approve
    assert "second investigator" in refused.output and "--sole-operator" in refused.output
    listed = lines(runner.invoke(main, ["trace", "list", "--json"]).output)
    assert [(o["id"], o["status"]) for o in listed] == [(int(object_id), "pending")]
    out = tmp_path / "copy.jpg"
    assert runner.invoke(main, ["trace", "image", object_id, "-o", str(out), "--thumb"]).exit_code == 0
    assert out.read_bytes()[:2] == b"\xff\xd8"
    assert runner.invoke(main, ["trace", "reject", object_id, "--reason", "crop more"]).exit_code == 0
    assert runner.invoke(main, ["trace", "retire", object_id]).exit_code == 0
    csv_path = tmp_path / "tips.csv"
    exported = runner.invoke(main, ["trace", "export", "-o", str(csv_path)])
    assert exported.exit_code == 0, exported.output
    assert csv_path.read_text(encoding="utf-8").startswith("tip_id,object_id")
    assert runner.invoke(main, ["trace", "tips"]).exit_code == 0


def test_trace_approve_on_a_one_person_installation(runner: CliRunner, tmp_path: Path) -> None:
    image = tmp_path / "object.jpg"
    image.write_bytes(jpeg_bytes(picture(6)))
    created = runner.invoke(main, ["trace", "add", str(image), "--category", "toys", "--question", "Where?"])
    object_id = created.output.split()[1]
    assert runner.invoke(main, ["trace", "submit", object_id]).exit_code == 0
    approved = runner.invoke(main, ["trace", "approve", object_id, "--sole-operator"])
    assert approved.exit_code == 0, approved.output
    assert "published" in approved.output and "audit" in approved.output
