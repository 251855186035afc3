#!/usr/bin/env python
"""The GPU check: one prepared script for the day a GPU is at hand (about 8 minutes on one GPU).

    python benchmarks/gpu_check.py            # on a GPU machine; writes the GPU rows of the cost table
    python benchmarks/gpu_check.py --smoke    # the same path on the CPU at a tiny size (a test runs it)

1. facts: `nvidia-smi` (GPU, memory, driver, compute capability) and TensorFlow's CUDA and cuDNN build;
2. the planner's GPU reference probes (planner/probe.py, `--device gpu`) on the image folder;
3. fold 0 of `e5_full` (the challenge_gpu recipe's settings) on the text folder (debfr-public) and
   folds 0 and 1 of `effnet_lite0` at 224 px on the image folder (fashion-public; fold 1 reuses
   fold 0's cached features, so the two folds split extraction from the head), each in a process
   of its own: weighted F1, texts/s or images/s, peak GPU memory, XLA compilations;
4. on a GPU (never with --smoke) the measured figures replace the estimates of planner/reference_costs.json
   ("gpu" and "probe.gpu"); everything lands in OUT/gpu_check.json as well.

With --smoke the folds are tiny (--set-text / --set-image add overrides, e.g. a small e5 preset) and
run in GPU rehearsal (ESHOPPYE_GPU_REHEARSAL=1: XLA as on a GPU, so compilations are counted), only
the tfidf probe runs, and the cost table written is a copy in OUT: the real one is untouched.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.core import rehearsal, xla_compilations  # noqa: E402

# (stored name, registered model, overrides): challenge_gpu's e5_full and effnet_lite0 at 224 px
TEXT_STEP = ("e5_full", "e5_finetune", {"trainable_layers": 12, "max_length": 128, "learning_rate": 5e-5,
                                         "epochs": 3, "mixed_precision": True})
IMAGE_STEP = ("effnet_lite0", "effnet_lite0", {"crop_background": True, "image_size": 224})
SMOKE_TEXT = {"epochs": 1, "max_length": 32, "head_epochs": 1, "batch_size": 16}
SMOKE_IMAGE = {"epochs": 2, "image_size": 32, "head_units": "16", "batch_size": 32}


def gpu_facts() -> dict:
    """nvidia-smi's view of the GPUs, and what TensorFlow was built with and sees."""
    facts = {"nvidia_smi": None}
    if shutil.which("nvidia-smi"):
        query = "name,memory.total,driver_version,compute_cap"
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30).stdout
        facts["nvidia_smi"] = [dict(zip(query.split(","), (v.strip() for v in line.split(","))))
                               for line in out.strip().splitlines()]
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    facts.update(tensorflow=tf.__version__, cuda=build.get("cuda_version"), cudnn=build.get("cudnn_version"),
                 visible_gpus=[d.name for d in tf.config.list_physical_devices("GPU")])
    return facts


def run_folds(name: str, model: str, settings: dict, data_dir: str, run_dir: Path, folds: list[int],
              work: Path, timeout: float, rehearse: bool = False) -> dict:
    """Folds of one model in a child process of this script, XLA compilations counted; `rehearse`:
    in GPU rehearsal (models/core/rehearsal.py), so that a CPU compiles with XLA as a GPU would."""
    job = work / f"{name}.job.json"
    job.write_text(json.dumps({"name": name, "model": model, "settings": settings, "data_dir": data_dir,
                               "run_dir": str(run_dir), "folds": folds}))
    env = xla_compilations.environment(work / f"{name}.xla")
    if rehearse:
        env = rehearsal.environment(env)
    done = subprocess.run([sys.executable, __file__, "--fold-child", str(job)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    result_path = job.with_suffix(".result.json")
    if done.returncode or not result_path.is_file():
        raise SystemExit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    result = json.loads(result_path.read_text())
    result["xla_compilations"] = xla_compilations.compilations(work / f"{name}.xla")
    return result


def fold_child(job_path: str) -> None:
    """In the child: train the folds, then record their summaries and the peak memory."""
    import resource

    import tensorflow as tf

    from folds.store import RunDir
    from recipebook.training import train_model

    job = json.loads(Path(job_path).read_text())
    folds = []
    for k in job["folds"]:
        train_model(job["model"], name=job["name"], folds=str(k), quiet=True, data_dir=job["data_dir"],
                    run_dir=job["run_dir"], overrides={key: str(value) for key, value in job["settings"].items()})
        summary = RunDir(job["run_dir"]).model(job["name"]).fold_summary(k)
        folds.append({"fold": k, **{key: summary.get(key) for key in ("weighted_f1", "seconds", "epochs_run",
                                                                       "head_epochs", "n_train", "n_val")}})
    gpus = tf.config.list_physical_devices("GPU")
    peak_gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 1e9 if gpus else None
    result = {"folds": folds, "peak_gpu_gb": peak_gpu,
              "peak_host_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}
    Path(job_path).with_suffix(".result.json").write_text(json.dumps(result, indent=1))


def fold_rows(data_dir: str, run_dir: Path, k: int) -> tuple[int, int, int]:
    """(training, validation, test) rows of fold k of the run."""
    from folds.store import RunDir

    folds = RunDir(run_dir).folds()
    test_rows = sum(1 for _ in open(Path(data_dir) / "X_test_update.csv", encoding="utf-8")) - 1
    return int((folds != k).sum()), int((folds == k).sum()), test_rows


def text_figures(result: dict, rows: tuple[int, int, int]) -> dict:
    fold = result["folds"][0]
    epochs = fold.get("epochs_run") or 1
    return {"weighted_f1": fold["weighted_f1"], "fold_seconds": fold["seconds"], "epochs": epochs,
            "train_rows": rows[0],
            # training texts per second over the whole fold (the head first, validation and prediction included)
            "texts_per_s": round(rows[0] * epochs / fold["seconds"], 1),
            "peak_gpu_gb": result["peak_gpu_gb"], "xla_compilations": result["xla_compilations"]}


def image_figures(result: dict, rows: tuple[int, int, int]) -> dict:
    first, second = result["folds"][:2]
    images = sum(rows)  # every training and test image, and its mirror
    extraction = max(first["seconds"] - second["seconds"], 1e-3)
    return {"weighted_f1": [f["weighted_f1"] for f in result["folds"]], "fold0_seconds": first["seconds"],
            "fold1_seconds": second["seconds"], "train_rows": rows[0], "images": images,
            # fold 0 extracts every image twice (plain, mirrored); fold 1 reads the cache: the difference
            "images_per_s": round(2 * images / extraction, 1), "extraction_seconds": round(extraction, 1),
            "head_seconds": second["seconds"], "peak_gpu_gb": result["peak_gpu_gb"],
            "xla_compilations": result["xla_compilations"]}


def measured_rows(text: dict, image: dict, where: str) -> dict:
    """The cost table's GPU entries for e5_full and effnet_lite0_224, as measured here."""
    def part(seconds, per, scale, rows, what):
        return {"seconds": round(seconds, 1), "per": per, "scale": scale, "rows": rows, "exponent": 1.0,
                "measured": True, "source": f"benchmarks/gpu_check.py, {where}: {what}"}

    return {
        "e5_full": {"probe": "e5_full", "parts": {
            "epoch": part(text["fold_seconds"] / text["epochs"], "fold_epoch", "train_rows", text["train_rows"],
                          "debfr-public fold 0, its whole time over its epochs (head first and prediction included)")},
            "peak_gpu_gb": text["peak_gpu_gb"]},
        "effnet_lite0_224": {"probe": "effnet_lite0_224", "parts": {
            "features": part(image["extraction_seconds"], "dataset", "image_passes", 2 * image["images"],
                             "fashion-public, fold 0 less fold 1 (the features extracted once, plain and mirrored)"),
            "head": part(image["head_seconds"], "fold", "train_rows", image["train_rows"],
                         "fashion-public fold 1 (cached features)")},
            "peak_gpu_gb": image["peak_gpu_gb"]},
    }


def write_table(table_path: Path, rows: dict, on_gpu: bool, when: str) -> None:
    """Replace the GPU entries measured here; the others keep their estimates (measured false)."""
    table = json.loads(table_path.read_text())
    gpu = table.setdefault("gpu", {})
    for key, entry in rows.items():
        old = gpu.get(key, {})
        gpu[key] = {**old, **entry, "peak_gb": old.get("peak_gb", {"value": 0.0, "rows": 1, "measured": False})}
    if on_gpu:
        gpu["about"] = (f"One GPU. e5_full and effnet_lite0_224 measured by benchmarks/gpu_check.py ({when}); "
                        f"the entries with measured false are still estimates. Steps missing here (tfidf, the stack, "
                        f"submit) run on the CPU and use the 'cpu' figures.")
    table_path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="the same path on the CPU at a tiny size")
    parser.add_argument("--text-data", default=str(REPO / "../shared/bench/debfr-public"))
    parser.add_argument("--image-data", default=str(REPO / "../shared/bench/fashion-public"))
    parser.add_argument("--out", default="runs/gpu_check", help="scratch runs and gpu_check.json")
    parser.add_argument("--table", default=str(REPO / "planner" / "reference_costs.json"),
                        help="the cost table whose GPU rows are written (on a GPU, without --smoke)")
    parser.add_argument("--set-text", action="append", default=[], metavar="KEY=VALUE", help="e5_full override")
    parser.add_argument("--set-image", action="append", default=[], metavar="KEY=VALUE", help="effnet_lite0 override")
    parser.add_argument("--fold-timeout", type=float, default=420, help="seconds allowed to each model's folds")
    parser.add_argument("--fold-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fold_child:
        return fold_child(args.fold_child)

    started = time.time()
    out = Path(args.out).resolve()
    shutil.rmtree(out / "work", ignore_errors=True)
    work = out / "work"
    work.mkdir(parents=True)
    facts = gpu_facts()
    on_gpu = bool(facts["visible_gpus"]) and not args.smoke
    if not on_gpu and not args.smoke:
        raise SystemExit("No GPU is visible: run this on a GPU machine, or with --smoke to rehearse it on the CPU.")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    where = f"{(facts['nvidia_smi'] or [{}])[0].get('name', 'CPU (smoke)')}, {when}"
    table = Path(args.table) if on_gpu else out / "reference_costs.json"
    if not on_gpu:
        shutil.copyfile(args.table, table)  # the smoke writes a copy: the same code, the real table untouched

    from planner.probe import measure_reference

    probes = measure_reference(args.image_data, "gpu", table, only={"tfidf"} if args.smoke else None)
    overrides = [dict(pair.split("=", 1) for pair in pairs) for pairs in (args.set_text, args.set_image)]
    text_name, text_model, text_set = TEXT_STEP
    image_name, image_model, image_set = IMAGE_STEP
    text_set = {**text_set, **(SMOKE_TEXT if args.smoke else {}), **overrides[0]}
    image_set = {**image_set, **(SMOKE_IMAGE if args.smoke else {}), **overrides[1]}

    text_run, image_run = work / "text_run", work / "image_run"
    limits = (work, args.fold_timeout, args.smoke)
    text = run_folds(text_name, text_model, text_set, args.text_data, text_run, [0], *limits)
    text = text_figures(text, fold_rows(args.text_data, text_run, 0))
    image = run_folds(image_name, image_model, image_set, args.image_data, image_run, [0, 1], *limits)
    image = image_figures(image, fold_rows(args.image_data, image_run, 0))
    rows = measured_rows(text, image, where)
    write_table(table, rows, on_gpu, when)
    report = {"facts": facts, "smoke": args.smoke, "probes": probes, "e5_full": text, "effnet_lite0_224": image,
              "table": str(table), "seconds": round(time.time() - started, 1)}
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps({k: report[k] for k in ("e5_full", "effnet_lite0_224", "seconds")}, indent=1))
    print(f"cost table written: {table}{'' if on_gpu else ' (a copy: --smoke)'}; report: {out / 'gpu_check.json'}")
    return report


if __name__ == "__main__":
    main()
