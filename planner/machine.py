"""Which machine this is, read without importing TensorFlow (so `--plan-only` stays quick): CPU
model, cores, memory, and the GPUs the NVIDIA driver reports."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gb: float
    gpus: tuple[str, ...] = ()

    @property
    def device(self) -> str:
        return "gpu" if self.gpus else "cpu"

    @property
    def key(self) -> str:
        """What a probe result is valid for: the same CPU model, cores and GPUs."""
        text = json.dumps([self.cpu, self.cores, list(self.gpus)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        gpu = f", GPU: {', '.join(self.gpus)}" if self.gpus else ", no GPU"
        return f"{self.cores} CPU cores ({self.cpu}), {self.memory_gb:.0f} GB{gpu}"

    def to_json(self) -> dict:
        return {**asdict(self), "gpus": list(self.gpus)}


def this_machine() -> Machine:
    return Machine(cpu=_cpu_model(), cores=_cores(), memory_gb=_memory_gb(), gpus=tuple(visible_gpus()))


def visible_gpus() -> list[str]:
    """GPU names from `nvidia-smi -L`, else from /proc/driver/nvidia; [] when CUDA_VISIBLE_DEVICES
    hides them all (as TensorFlow would see it)."""
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return []
    names = []
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
            names = [line.split(":", 1)[1].split("(")[0].strip() for line in out.splitlines()
                     if line.startswith("GPU ")]
        except (OSError, subprocess.SubprocessError):
            names = []
    if not names:
        for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
            model = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                     if line.startswith("Model:")]
            names.append(model[0] if model else "NVIDIA GPU")
    return names


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return 0.0
