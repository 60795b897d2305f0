"""The HTML report (in a real headless Chromium), its charts, and markdown's charts kept beside it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chipfit.records import Report, Result, Scenario
from support import ROOT, assert_clean

EDGE_VISION = ROOT / "specs" / "edge-vision.toml"

#: A device and a spec whose text is HTML: it must show as text, never become markup.
HOSTILE = """
    import chipfit
    from chipfit import Device


    @chipfit.hookimpl
    def chipfit_register_devices(register):
        register(Device(
            id="acme-xss-1", name="<script>alert(1)</script>", vendor="Acme", kind="npu", segment="edge",
            peak_ops={"int8": 20e12}, memory_bandwidth=50e9, memory_capacity=4e9, power=5.0, year=2025,
            capabilities=["inference"],
            sources={"peak_ops.int8": "<img src=x onerror=alert(2)> https://example.com/a?b=1&c=<2>"},
        ))
"""

HOSTILE_SPEC = """
    title = "Edge <b>bold</b> & co"
    description = "<iframe src='https://example.com'></iframe>"

    [[groups]]
    id = "g"
    title = "<em>group</em>"
    devices = ["acme-xss-1", "hailo-hailo-8"]
    workloads = ["mobilenet-v2"]
    scenario = "single-stream"
    precision = "int8"
    latency_target_ms = 40
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browse(page: Path, profile: Path, *options: str) -> subprocess.CompletedProcess:
    """Open a page in headless Chromium with its console logged to stderr."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium here (install Debian's chromium, as .ci/run does, to run the browser tests)")
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *options, page.as_uri()],
        capture_output=True, text=True, timeout=90)


def console_errors(stderr: str) -> list[str]:
    """Console messages and uncaught errors in Chromium's log (the page has no script: any is a fault)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def _tags(dom: str, tag: str) -> int:
    return len(re.findall(rf"<{tag}[\s>]", dom))


def test_edge_vision_report_opens_in_chromium_with_its_table_and_charts(cli, tmp_path):
    page = tmp_path / "report.html"
    result = cli("run", EDGE_VISION, "-o", page)  # the format follows the file's extension
    assert_clean(result)
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for outside in (r"<script", r"<link", r"<img", r"<iframe", r"@import", r"url\(\s*['\"]?https?:"):
        assert not re.search(outside, text), f"the page would fetch or run something: {outside}"

    shot = tmp_path / "report.png"
    shown = _browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,3000")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert console_errors(shown.stderr) == []
    dumped = _browse(page, tmp_path / "profile", "--dump-dom")
    assert console_errors(dumped.stderr) == []
    dom = dumped.stdout
    assert _tags(dom, "table") >= 3 + 1  # three groups' tables and the devices' figures
    assert _tags(dom, "svg") == 4  # a bar chart per group and the roofline
    assert 'id="figure-roofline"' in dom
    assert "Jetson AGX Orin 64GB" in dom and "vs Intel Core i5-12600K" in dom
    assert 'href="#device-hailo-hailo-8"' in dom and 'id="device-hailo-hailo-8"' in dom  # sources reachable

    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (3000, 1400)
    assert pixels[..., :3].std() > 0.05  # not a blank page: text, table rules and coloured bars


def test_console_errors_are_caught_on_a_broken_page(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>x</p><script>console.error('bad'); throw new Error('boom')</script>")
    errors = console_errors(_browse(broken, tmp_path / "profile", "--dump-dom").stderr)
    assert any("boom" in line for line in errors) and any("bad" in line for line in errors)


def test_text_from_plugins_and_specs_is_escaped(cli, plugin_module, write_spec, tmp_path):
    hostile = plugin_module("hostile_device", HOSTILE)
    page = tmp_path / "hostile.html"
    result = cli("-p", hostile, "run", write_spec(HOSTILE_SPEC), "-o", page)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    for raw in ("<script>alert(1)</script>", "<img src=x", "<b>bold</b>", "<em>group</em>", "<iframe"):
        assert raw not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Edge &lt;b&gt;bold&lt;/b&gt; &amp; co" in text
    assert '<a href="https://example.com/a?b=1&amp;c=" rel="noopener noreferrer">' in text  # links, escaped
    if _chromium():
        dumped = _browse(page, tmp_path / "profile", "--dump-dom")
        assert console_errors(dumped.stderr) == []
        assert _tags(dumped.stdout, "script") == 0 and _tags(dumped.stdout, "img") == 0
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dumped.stdout


def test_markdown_written_to_a_file_keeps_its_charts_beside_it(cli, tmp_path):
    target = tmp_path / "report.md"
    result = cli("run", EDGE_VISION, "-o", target)
    assert_clean(result)
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 4 and all(link.startswith("report_files/") for link in links)
    for link in links:
        drawn = (tmp_path / link).read_text(encoding="utf-8")
        assert drawn.startswith("<?xml") and "<svg" in drawn
    assert "## Roofline" in text
    on_stdout = cli("run", EDGE_VISION, "--format", "markdown")
    assert "![" not in on_stdout.stdout


def test_the_format_follows_the_output_extension(cli, tmp_path):
    import json

    assert cli("run", EDGE_VISION, "-o", tmp_path / "r.json").exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["title"].startswith("Edge vision")
    assert cli("run", EDGE_VISION, "-o", tmp_path / "r.txt").exit_code == 0
    assert (tmp_path / "r.txt").read_text().startswith("Edge vision")
    assert cli("run", EDGE_VISION, "--format", "csv", "-o", tmp_path / "r.html").exit_code == 0
    assert (tmp_path / "r.html").read_text().startswith("group,device")  # --format wins


def test_without_matplotlib_the_page_keeps_its_tables_and_says_why(catalogue, monkeypatch):
    from chipfit import charts
    from chipfit_html import render_html

    monkeypatch.setattr(charts, "missing", lambda: "charts need matplotlib: pip install 'chipfit[report]'")
    report = _report_with_measurements()
    text = render_html(report, catalogue)
    assert "No charts: charts need matplotlib" in text and "<svg" not in text and "<table" in text


def test_roofs_are_the_models_sustained_rates_for_the_reports_devices_only(catalogue, pm):
    from chipfit.charts import operator_points, roofs

    from chipfit import model, runner, spec

    parsed, text = spec.load(EDGE_VISION)
    report = runner.run(parsed, catalogue, pm, text=text)
    found = {(roof.device, roof.precision): roof for roof in roofs(report, catalogue)}
    assert {device for device, _ in found} == {row.device for row in report.rows}
    assert {str(precision) for _, precision in found} == {"int8"}
    l4 = catalogue.devices["nvidia-l4"]
    efficiency, _ = model.efficiency_for(l4)
    roof = found[("nvidia-l4", "int8")]
    assert roof.compute == pytest.approx(l4.peak_ops["int8"] * efficiency.compute_for("int8"))
    assert roof.memory == pytest.approx(l4.memory_bandwidth * efficiency.memory)
    assert roof.ridge == pytest.approx(roof.compute / roof.memory)

    points, whole = operator_points(report, catalogue)
    assert set(whole) == {"yolov3-416", "mobilenet-v2"}
    yolo = catalogue.workloads["yolov3-416"]
    scale = 1.0 / yolo.precision.bytes_per_value  # the report runs it in int8: 1 byte per value
    first = next(op for op in yolo.operators if op.ops > 0)
    point = next(p for p in points if p.workload == "yolov3-416")
    assert point.intensity == pytest.approx(first.ops / ((first.weight_bytes + first.activation_bytes) * scale))
    assert sum(p.share for p in points if p.workload == "yolov3-416") == pytest.approx(1.0, rel=1e-6)


def _report_with_measurements() -> Report:
    scenario = Scenario("single-stream")
    rows = [
        Result("localhost-cpu", "resnet-50", scenario, "calibrated", "ok",
               {"latency_s": 0.012, "throughput_sps": 83.0, "model_error": 0.2}, group="m"),
        Result("localhost-cpu", "resnet-50", scenario, "measured", "ok",
               {"latency_s": 0.010, "throughput_sps": 100.0}, group="m"),
        Result("localhost-cpu", "mobilenet-v2", scenario, "modelled", "ok",
               {"latency_s": 0.002, "throughput_sps": 500.0, "model_error": -0.2}, group="m"),
        Result("localhost-cpu", "mobilenet-v2", scenario, "measured", "ok",
               {"latency_s": 0.0025, "throughput_sps": 400.0}, group="m"),
        Result("localhost-cpu", "bert-base-128", scenario, "measured", "failed", reason="the child crashed",
               group="m"),
    ]
    return Report(title="measured", rows=rows, spec={"groups": [{"id": "m", "title": "Measured here"}]})


def test_predicted_against_measured_pairs_each_measured_row_with_its_model(catalogue):
    from chipfit_html import render_html
    from chipfit.charts import charts, measured_pairs

    report = _report_with_measurements()
    pairs = measured_pairs(report)
    assert [(m.workload, p.source.value, metric) for m, p, metric in pairs] == [
        ("resnet-50", "calibrated", "latency_s"), ("mobilenet-v2", "modelled", "latency_s")]
    assert [chart.name for chart in charts(report, catalogue)] == ["bars-m", "roofline", "predicted-vs-measured"]
    text = render_html(report, catalogue)
    assert 'id="figure-predicted-vs-measured"' in text
    assert "model error" in text and "+20%" in text and "failed: the child crashed" in text
    assert 'class="badge source-measured"' in text and 'class="badge source-calibrated"' in text
