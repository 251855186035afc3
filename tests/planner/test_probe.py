"""The probe cache and the probe's scaling of the reference figures, with a fake probe runner; and
the sample folder a real probe trains on."""
from __future__ import annotations

import pytest

from challenge.reader import read_challenge
from planner.costs import CostModel, DataSize, Work
from planner.probe import ProbeCache, measured_probes, probe_ratios, write_sample

WANTED = {"tfidf": {"model": "tfidf", "settings": {}}, "text_cnn": {"model": "text_cnn", "settings": {"epochs": 3}}}


class CountingProbe:
    def __init__(self, seconds: float = 20.0):
        self.seconds, self.calls = seconds, []

    def __call__(self, name: str, spec: dict) -> float:
        self.calls.append(name)
        return self.seconds


def test_a_second_call_reads_the_cache_and_other_data_probes_again(table, tmp_path):
    cache, probe = ProbeCache(tmp_path), CountingProbe()
    seconds, spent = measured_probes(table, "cpu", WANTED, cache, "machine1", "data1", probe)
    # only tfidf has a reference probe to compare with: text_cnn is not worth running
    assert probe.calls == ["tfidf"] and seconds == {"tfidf": 20.0} and spent >= 0
    seconds, spent = measured_probes(table, "cpu", WANTED, cache, "machine1", "data1", probe)
    assert probe.calls == ["tfidf"] and seconds == {"tfidf": 20.0} and spent == 0.0
    measured_probes(table, "cpu", WANTED, cache, "machine1", "data2", probe)  # another data fingerprint
    measured_probes(table, "cpu", WANTED, cache, "machine2", "data1", probe)  # another machine
    assert probe.calls == ["tfidf", "tfidf", "tfidf"]
    assert (tmp_path / "probes.json").is_file()


def test_probes_are_kept_with_the_machine_not_in_a_run_cache(machine_state_dir):
    """A run in a new folder (another cache/) on the same machine and data reads the probes again."""
    ProbeCache().put("machine1", "data1", {"tfidf": 12.0}, {})
    assert (machine_state_dir / "probes.json").is_file()
    assert ProbeCache().get("machine1", "data1") == {"tfidf": 12.0}


def test_the_probe_ratio_scales_the_reference_figures(table):
    ratios = probe_ratios(table, "cpu", {"tfidf": 20.0})  # the reference probe took 10 s
    assert ratios == {"tfidf": 2.0}
    size = DataSize(train_rows=1000, test_rows=200)
    plain = CostModel(table, size).estimate("tfidf", Work(folds=5))
    scaled = CostModel(table, size, probe_ratios=ratios).estimate("tfidf", Work(folds=5))
    assert scaled.seconds == pytest.approx(2 * plain.seconds) == pytest.approx(600)
    assert (plain.basis, scaled.basis) == ("reference", "reference x probe")


def test_sizes_extrapolate_with_the_parts_exponent(table):
    table["cpu"]["tfidf"]["parts"]["work"].update(scale="train_rows", rows=800, exponent=1.1)
    small = CostModel(table, DataSize(train_rows=1000, test_rows=0)).estimate("tfidf", Work(folds=1))
    large = CostModel(table, DataSize(train_rows=10000, test_rows=0)).estimate("tfidf", Work(folds=1))
    assert small.seconds == pytest.approx(60)  # 800 training rows a fold: the measured size
    assert large.seconds / small.seconds == pytest.approx(10 ** 1.1)


def test_the_sample_folder_is_stratified_and_reads_back(demo_dir, tmp_path):
    data = read_challenge(demo_dir)
    sample = read_challenge(write_sample(data, tmp_path / "sample", n_train=60, n_test=20))
    assert set(sample.labels) == set(data.labels) and sample.labels.value_counts().min() >= 6
    assert len(sample.test) == 20 and sample.train.index.isin(data.train.index).all()
    assert (tmp_path / "sample" / "images").is_symlink() and sample.train["image_path"].map(
        lambda p: __import__("pathlib").Path(p).is_file()).all()


def test_a_class_too_small_for_the_probes_folds_is_left_out_of_the_sample(demo_dir, tmp_path):
    # a class of 2 rows (a --n-folds 2 run) would stop the probe's 5-fold split
    data = read_challenge(demo_dir)
    small = data.labels.index[data.labels == data.labels.iloc[0]][2:]
    data.train, data.labels = data.train.drop(small), data.labels.drop(small)
    sample = read_challenge(write_sample(data, tmp_path / "sample", n_train=60, n_test=20))
    assert set(sample.labels) == set(data.labels) - {data.labels.iloc[0]}
    assert sample.labels.value_counts().min() >= 6


def test_a_real_probe_runs_once_then_comes_from_the_cache(demo_dir, tmp_path, monkeypatch, capsys):
    """tfidf alone has a reference probe here: it is trained on the sample through train_model, the
    plan says it was probed, and a second plan reads the cache."""
    import argparse

    from planner import cli
    from planner.costs import load_reference

    table = load_reference()
    table["probe"]["cpu"] = {"seconds": {"tfidf": 5.0}}
    monkeypatch.setattr(cli, "load_reference", lambda: table)
    args = argparse.Namespace(budget="2h", data_dir=str(demo_dir), run_dir=str(tmp_path / "run"), device="cpu",
                              no_probe=False, n_folds=None)
    plan, header = cli.build_plan(args, cache_dir=str(tmp_path / "cache"))
    assert plan.probe_s > 0 and "probed now" in header and "tfidf x" in header
    printed = capsys.readouterr().out
    assert "probe: tfidf (fold 0 of a 400-row sample, 1 epoch) ... " in printed and printed.rstrip().endswith(" s")
    assert "fold scores" not in printed  # the sample's scores are not the run's
    assert plan.steps[0].estimate.basis == "reference x probe"
    assert list((tmp_path / "cache" / "planner").glob("probe-*")) == []  # the scratch folder is gone
    plan, header = cli.build_plan(args, cache_dir=str(tmp_path / "cache"))
    assert plan.probe_s == 0 and "probed earlier (cached)" in header


def test_re_measuring_some_reference_probes_keeps_the_others_and_says_when_they_were_taken(
        demo_dir, tmp_path, monkeypatch):
    import json

    from planner import probe
    from tests.planner.conftest import synthetic_table

    class FakeProbe:
        def __init__(self, data):
            self.calls = []

        def __enter__(self):
            return lambda name, spec: {"tfidf": 7.0}.get(name, 99.0)

        def __exit__(self, *exc):
            return False

    table = synthetic_table()
    table["probe"]["cpu"] = {"seconds": {"tfidf": 10.0, "e5": 30.0}, "data": "the old folder",
                             "measured": "2026-01-01 00:00 UTC", "load_before": 1.4}
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(table))
    monkeypatch.setattr(probe, "TrainProbe", FakeProbe)
    result = probe.measure_reference(str(demo_dir), "cpu", path, only={"tfidf"})
    assert result["seconds"] == {"tfidf": 7.0, "e5": 30.0}
    assert list(result["kept"]) == ["e5"] and "2026-01-01" in result["kept"]["e5"]
    assert "load before 1.4" in result["kept"]["e5"] and "the old folder" in result["kept"]["e5"]
    assert json.loads(path.read_text())["probe"]["cpu"] == result


def test_a_failing_probe_shows_what_it_printed(demo_dir, tmp_path, monkeypatch, capsys):
    from challenge.errors import DataError
    from planner.probe import TrainProbe
    from recipebook import training

    def failing_training(model, **options):
        print("tfidf fold 0: the details a user needs")
        raise DataError("the probe's own error")

    monkeypatch.setattr(training, "train_model", failing_training)
    with pytest.raises(DataError, match="the probe's own error"):
        with TrainProbe(read_challenge(demo_dir), cache_dir=tmp_path / "cache") as run_probe:
            run_probe("tfidf", {"model": "tfidf", "settings": {}})
    printed = capsys.readouterr().out
    assert "probe: tfidf" in printed and "failed; what it printed:" in printed
    assert "the details a user needs" in printed
