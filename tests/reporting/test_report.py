"""The report built from run directories: a fake run with designed predictions, and a real one."""
import re
import struct

import numpy as np
import pytest

import report
from folds import RunDir
from reporting import build_report
from tests.reporting.conftest import add_model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_report_has_the_leaderboard_and_every_model(fake_run):
    html = fake_run["html"]
    assert fake_run["index"] == fake_run["run"].root / "report" / "index.html"
    assert html.count("<table>") == 3  # leaderboard + one classification report per model
    leaderboard = html.split('id="leaderboard"')[1].split("</table>")[0]
    # Best model first, with its OOF score, fold spread and training minutes (3 folds x 30 s).
    assert leaderboard.index("careful") < leaderboard.index("lazy")
    metrics = fake_run["run"].model("careful").metrics()
    assert f"{metrics['oof']['weighted_f1']:.4f}" in leaderboard
    assert "(3)</td>" in leaderboard and "<td>1.5</td>" in leaderboard
    assert leaderboard.count("⚠ majority class") == 1
    assert leaderboard.index("⚠ majority class") > leaderboard.index(">lazy<")


def test_classification_report_names_every_class_with_counts(fake_run):
    run, html = fake_run["run"], fake_run["html"]
    section = html.split('id="model-careful"')[1].split("</section>")[0]
    table = section.split("<table>")[1].split("</table>")[0]
    for code in run.classes().codes:
        assert f"<td>{code}</td>" in table
    assert "livres d&#39;occasion" in table and "consoles" in table
    y = run.train_labels()
    counts = np.bincount(y)
    rows = re.findall(r"<tr><td>(\d+)</td>.*?</tr>", table, flags=re.S)
    assert [int(c) for c in rows] == run.classes().codes
    assert f"<td>{counts[1]}</td>" in table
    # The footer's weighted average is the challenge metric stored in metrics.json.
    footer = table.split("<tfoot>")[1]
    weighted_f1 = run.model("careful").metrics()["oof"]["weighted_f1"]
    assert f"<th>{weighted_f1:.3f}</th><th>{len(y)}</th>" in footer.split("weighted average")[1]


def test_notable_confusion_and_majority_warning(fake_run):
    html = fake_run["html"]
    careful = html.split('id="model-careful"')[1].split("</section>")[0]
    share = fake_run["moved"] / fake_run["class_40_rows"]
    assert (f"class 40 (jeux vidéo import / imported video games) taken for 50 (accessoires jeux vidéo "
            f"/ gaming accessories) in {share:.0%} of cases "
            f"({fake_run['moved']} of {fake_run['class_40_rows']})") in careful
    assert "Warning:" not in careful
    lazy = html.split('id="model-lazy"')[1].split("</section>")[0]
    assert "Warning:</b> lazy predicts the majority class " + str(fake_run["majority"]) in lazy


def test_figures_are_valid_pngs_and_embedded(fake_run):
    figure_dir = fake_run["run"].root / "report" / "figures"
    names = sorted(p.name for p in figure_dir.glob("*.png"))
    assert names == ["careful_confusion.png", "careful_f1_per_class.png", "careful_training_curves.png",
                     "lazy_confusion.png", "lazy_f1_per_class.png", "leaderboard.png"]
    for path in figure_dir.glob("*.png"):
        width, height = png_size(path)
        assert width >= 300 and height >= 150, (path, width, height)
    # Self-contained: every image is a data: URI, nothing is loaded from disk or network.
    sources = re.findall(r'src="([^"]*)"', fake_run["html"])
    assert len(sources) >= 6 and all(s.startswith("data:image/") for s in sources)
    assert not re.search(r'<(link|script)\b', fake_run["html"])


def test_training_curves_and_tensorboard_are_pointed_to(fake_run):
    html = fake_run["html"]
    careful = html.split('id="model-careful"')[1].split("</section>")[0]
    lazy = html.split('id="model-lazy"')[1].split("</section>")[0]
    assert "careful: training curves" in careful
    assert f"tensorboard --logdir {fake_run['run'].root}/careful" in careful
    assert "No <code>history.csv</code>" in lazy and "tensorboard --logdir" not in lazy


def test_error_gallery_shows_the_surest_mistake_escaped_with_its_image(fake_run):
    careful = fake_run["html"].split('id="model-careful"')[1].split("</section>")[0]
    gallery = careful.split('class="gallery"')[1]
    first_card = gallery.split('class="card"')[1]
    assert "Piscine &lt;script&gt;alert(1)&lt;/script&gt; &amp; spa" in first_card
    assert "(p=0.99)" in first_card
    assert 'src="data:image/jpeg;base64,' in first_card
    assert "<script>" not in fake_run["html"]
    assert gallery.count('class="card"') == 12


def test_report_without_the_data_folder_still_builds(fake_run, tmp_path):
    import json

    run = fake_run["run"]
    info = json.loads((run.root / "run.json").read_text())
    moved = RunDir(tmp_path / "copy")
    import shutil

    shutil.copytree(run.root, moved.root, ignore=shutil.ignore_patterns("report"))
    (moved.root / "run.json").write_text(json.dumps({**info, "data_dir": str(tmp_path / "gone")}))
    html = build_report(moved.root, models=["lazy"], gallery_size=3).read_text()
    assert "is not on this machine" in html and html.count('class="card"') == 3
    # 6 of the challenge's codes are not the challenge: no names are guessed.
    assert "jeux vidéo" not in html and "Class names: none" in html
    assert 'id="model-careful"' not in html


def test_a_stack_shows_its_gain_over_its_best_input_and_its_verdict(fake_run, tmp_path):
    import shutil

    from ensemble.compare import stack_gain
    from ensemble.inputs import load_stack_inputs
    from ensemble.versus_inputs import judge_stack

    run = RunDir(tmp_path / "copy")
    shutil.copytree(fake_run["run"].root, run.root, ignore=shutil.ignore_patterns("report"))
    y, folds = run.train_labels(), run.folds()
    worse = run.model("careful").oof().copy()
    worse[: len(y) // 3] = np.roll(worse[: len(y) // 3], 1, axis=1)  # a third of the rows made wrong
    add_model(run, "stack-bad", worse, folds, y, len(run.test_index()),
              config={"method": "fake", "models": ["careful", "lazy"]})
    judge_stack(run, "stack-bad", load_stack_inputs(run, ["careful", "lazy"]))
    html = build_report(run.root, gallery_size=0).read_text()
    best, gain = stack_gain(run, "stack-bad")
    assert best == "careful" and gain.high < 0
    leaderboard = html.split('id="leaderboard"')[1].split("</table>")[0]
    row = leaderboard.split(">stack-bad<")[1].split("</tr>")[0]
    assert f"{gain.text()} vs careful" in row
    model_row = leaderboard.split('href="#model-careful"')[1].split("</tr>")[0]
    assert model_row.endswith('<td class="text"></td>')  # a model has no gain
    section = html.split('id="model-stack-bad"')[1].split("</section>")[0]
    assert "stack-bad is BELOW its input careful" in section and "--fallback best" in section


def test_cli_refuses_unknown_models_and_bad_thresholds(fake_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--run-dir", str(fake_run["run"].root), "--models", "careful,bert"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "bert" in err and "Finished here: careful, lazy" in err
    with pytest.raises(SystemExit):
        report.main(["--run-dir", str(fake_run["run"].root), "--threshold", "24"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_cli_on_a_run_with_nothing_finished(tmp_path, capsys):
    with pytest.raises(SystemExit):
        report.main(["--run-dir", str(tmp_path / "empty")])
    assert "not a run directory" in capsys.readouterr().err


def test_report_on_a_trained_demo_run_with_custom_names(tfidf_run, tmp_path):
    """End to end: train.py has trained the TF-IDF model on the demo fixture (the session's
    `tfidf_run`), report.py reports it into a folder of its own."""
    run_dir = tfidf_run
    names = tmp_path / "names.csv"
    names.write_text("prdtypecode,name\n10,Bücher gebraucht\n40,Importspiele\n")
    index = report.main(["--run-dir", str(run_dir), "--names", str(names), "--out", str(tmp_path / "out")])
    html = index.read_text()
    assert index == tmp_path / "out" / "index.html"
    assert "Bücher gebraucht" in html and f"from {names}" in html
    assert html.count('class="card"') > 0 and "tfidf" in html
    for png in (tmp_path / "out" / "figures").glob("*.png"):
        assert png_size(png)[0] > 300
