"""Behaviour in a shell, as rg and fd users expect it: help, one-line
errors, paths as given, folders, stdin lists, odd files and names."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from digitcli.cli import app

SAMPLE = "samples/0_black_marker.jpg"


def run_cli(*args, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitcli", *args], capture_output=True, input=stdin,
                          cwd=ROOT, timeout=timeout, check=False)


def test_short_help_examples_and_usage():
    runner = CliRunner()
    for command in (["-h"], ["predict", "-h"], ["evaluate", "-h"], ["train", "-h"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, command
    predict = runner.invoke(app, ["predict", "--help"]).output
    assert "Examples:" in predict and "digitcli predict photos/ --recursive" in predict
    assert "[IMAGE...]" in predict.splitlines()[0]
    assert "--install-completion" in runner.invoke(app, ["--help"]).output


def test_an_error_is_one_line_however_long_the_path(tmp_path):
    long_path = "/" + "/".join(["a-rather-long-folder-name"] * 8) + "/missing.png"
    result = run_cli("predict", long_path, SAMPLE)
    errors = [line for line in result.stderr.decode().splitlines() if line.startswith("error:")]
    assert errors == [f"error: {long_path}: no such file"]
    assert result.returncode == 1


def test_paths_come_out_as_given():
    result = run_cli("predict", "-f", "jsonl", "./samples//5_scan.tiff", f"./{SAMPLE}")
    assert [json.loads(line)["path"] for line in result.stdout.decode().splitlines()] == [
        "./samples//5_scan.tiff", f"./{SAMPLE}"]


def test_a_folder_of_sub_folders_without_r_says_to_pass_it(tmp_path):
    (tmp_path / "sub").mkdir()
    shutil.copy(ROOT / SAMPLE, tmp_path / "sub" / "0.jpg")
    result = run_cli("predict", str(tmp_path))
    assert "pass -r" in result.stderr.decode() and result.returncode == 1
    listed = run_cli("predict", "-", "-r", "-f", "csv", stdin=f"{tmp_path}\n".encode())
    assert listed.returncode == 0 and b"sub/0.jpg" in listed.stdout


def test_nul_separated_paths(tmp_path):
    paths = f"{SAMPLE}\0samples/5_scan.tiff\0".encode()
    result = run_cli("predict", "-", "-0", "-f", "csv", stdin=paths)
    assert result.returncode == 0 and len(result.stdout.decode().splitlines()) == 3
    mixed_up = run_cli("predict", "-", stdin=paths)
    assert mixed_up.returncode == 2 and b"-0" in mixed_up.stderr and b"Traceback" not in mixed_up.stderr


def test_special_files_get_an_error_row_and_the_batch_goes_on(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = run_cli("predict", "-f", "jsonl", str(fifo), "/dev/zero", SAMPLE, timeout=30)
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["status"] for r in rows] == ["error", "error", "ok"]
    assert "not a regular file" in rows[0]["error"] and result.returncode == 1


def test_a_carriage_return_in_a_name_is_quoted_in_csv_and_escaped_on_screen(tmp_path):
    odd = tmp_path / "a\rb\x1b[31m.jpg"
    shutil.copy(ROOT / SAMPLE, odd)
    result = run_cli("predict", "-f", "csv", str(odd), str(tmp_path / "gone\x1b.png"))
    records = list(csv.reader(io.StringIO(result.stdout.decode(), newline="")))
    assert len(records) == 3 and records[1][0] == str(odd)
    assert "\x1b" not in result.stderr.decode() and "\\x1b" in result.stderr.decode()


def test_nan_is_not_a_confidence():
    assert CliRunner().invoke(app, ["predict", "--min-confidence", "nan", SAMPLE]).exit_code == 2


def test_train_without_tensorflow_says_what_to_install(tiny_npz, tmp_path):
    code = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"
            "from digitcli.cli import main; sys.argv = ['digitcli', 'train', '--data', sys.argv[1], "
            "'--output', sys.argv[2]]; main()")
    result = subprocess.run([sys.executable, "-c", code, str(tiny_npz), str(tmp_path / "m")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert 'pip install "digitcli[train]"' in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_stdin_at_a_terminal_gets_a_hint():
    leader, follower = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "digitcli", "predict", "-"], stdin=follower,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    os.close(follower)
    try:
        os.write(leader, b"\x04")   # Ctrl-D: end of the (empty) list
        _, stderr = process.communicate(timeout=30)
    finally:
        os.close(leader)
        process.kill()
    assert b"Ctrl-D" in stderr


def test_crops_and_reports_into_a_file_are_refused_before_any_work(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    runner = CliRunner()
    for args in (["predict", SAMPLE, "--save-crops", str(a_file)],
                 ["predict", SAMPLE, "--save-crops", str(a_file / "under")],
                 ["evaluate", "--labelled", str(ROOT / "samples"), "--report", str(a_file)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.output and result.stdout.count("\n") <= 1


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_each_row_comes_as_soon_as_it_is_read():
    """stdout a terminal: a table, its rows streamed (the next path has not
    even been given when the first row shows)."""
    import select

    leader, follower = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "digitcli", "predict", "-"], stdin=subprocess.PIPE,
                               stdout=follower, stderr=subprocess.PIPE, cwd=ROOT,
                               env={**os.environ, "COLUMNS": "100"})
    os.close(follower)
    seen = b""
    try:
        process.stdin.write(f"{SAMPLE}\n".encode())
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while b"0_black_marker.jpg" not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                seen += os.read(leader, 4096)
        assert process.poll() is None   # still waiting for more paths
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        process.kill()
        os.close(leader)
    text = seen.decode()
    assert "0_black_marker.jpg" in text and "number" in text and "99." in text


def flagged_folder(tmp_path, copies: int) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    for index in range(copies):
        shutil.copy(ROOT / SAMPLE, folder / f"{index:02d}.jpg")
    shutil.copy(ROOT / "samples" / "x_letter_A.jpg", folder / "x_letter_A.jpg")
    (folder / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return folder


def test_a_long_table_ends_with_the_rows_that_need_a_look(tmp_path):
    folder = flagged_folder(tmp_path, 22)
    result = CliRunner(env={"COLUMNS": "100"}).invoke(app, ["predict", str(folder), "-f", "table"])
    lines = result.stdout.splitlines()
    assert lines[0] == f"in {folder}/" and lines[1].startswith("file ")   # paths relative to their common folder
    assert any(line.startswith("00.jpg ") for line in lines)
    recap = lines[lines.index("2 need a look (low confidence, no digit or an error):"):]
    assert [line.split()[0] for line in recap[1:]] == ["x_letter_A.jpg", "zz_broken.png"]
    assert "24 images, 23 read, 1 low confidence, 1 failed" in result.stderr


def test_a_narrow_terminal_cuts_long_paths_in_the_middle_and_keeps_cells_whole(tmp_path):
    deep = tmp_path / "a-rather-long-folder-name" / "and-another-long-one"
    deep.mkdir(parents=True)
    shutil.copy(ROOT / SAMPLE, deep / "a_photo_with_a_long_descriptive_name.jpg")
    shutil.copy(ROOT / "samples" / "3_ruled_notebook.jpg", tmp_path / "3.jpg")
    result = CliRunner(env={"COLUMNS": "60"}).invoke(app, ["predict", str(tmp_path), "-r", "-f", "table", "-k", "3"])
    rows = [line for line in result.stdout.splitlines() if line.endswith("%")]
    assert len(rows) == 2 and all(len(line) <= 60 for line in result.stdout.splitlines())
    long_row = next(row for row in rows if "\u2026" in row)
    assert long_row.split()[0].endswith("name.jpg")   # the file name's end is kept
    for row in rows:
        assert re.search(r"\d 1?\d?\d%  \d 1?\d?\d%  \d 1?\d?\d%", row), row   # each top-k item whole


def test_only_flagged_writes_only_what_needs_a_look(tmp_path):
    folder = flagged_folder(tmp_path, 3)
    result = run_cli("predict", str(folder), "--only-flagged")
    assert [json.loads(line)["status"] for line in result.stdout.decode().splitlines()] == ["low confidence", "error"]
    assert result.returncode == 1   # the exit status still says an input failed
    refused = run_cli("predict", str(folder), "--only-flagged", "-o", str(tmp_path / "rows.jsonl"), "--resume")
    assert refused.returncode == 2 and b"--resume" in refused.stderr


def test_a_long_number_is_never_cut_only_the_path():
    from digitcli.reading.result import Result, Status
    from digitcli.reading.writers import Extras, TableWriter

    out = io.StringIO()
    writer = TableWriter(out, Extras(), ["scans/form.png"], width=60)
    writer.write(Result("scans/form.png", None, 0.99, Status.OK, None, "123456789012345"))
    writer.close()
    assert "123456789012345" in out.getvalue() and "99.0%" in out.getvalue()
