"""The GPU road rehearsed on a CPU: `ESHOPPYE_GPU_REHEARSAL=1`.

What a GPU changes that a CPU run never exercises, made to happen on the CPU:
- two replicas: the CPU is split into 2 logical devices, and `strategy=mirrored` mirrors over them
  (with no GPU visible, `tf.distribute.MirroredStrategy()` would use CPU:0 alone);
- XLA: Keras resolves `jit_compile="auto"` as it does when a GPU is visible (XLA on unless a
  `tf.distribute` strategy is set or a layer does not support it), instead of always off on a CPU.

Mixed precision needs no rehearsal switch: `--set mixed_precision=true` runs float16 on a CPU too.
Both settings are process-wide and must be made before TensorFlow starts its runtime: `start()` is
called where the model registry is first used (models/__init__.py), before any model is built.
"""
from __future__ import annotations

import os

ENV = "ESHOPPYE_GPU_REHEARSAL"
REPLICAS = 2


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes", "on")


def replica_devices() -> list[str] | None:
    """The devices `strategy=mirrored` mirrors over: the logical CPUs in rehearsal, else None
    (every visible GPU, as MirroredStrategy chooses)."""
    return [f"/cpu:{i}" for i in range(REPLICAS)] if enabled() else None


def environment(base: dict | None = None) -> dict:
    """`base` (default os.environ) for a process in rehearsal. XLA compiles the CPU's code without
    LLVM's optimisations (about a quarter less time compiling e5_full's fold): a rehearsal checks
    what XLA compiles and how often, not how fast the CPU then runs it."""
    env = dict(os.environ if base is None else base)
    env[ENV] = "1"
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    return env


def start() -> None:
    """In rehearsal, split the CPU and resolve XLA as on a GPU (idempotent); otherwise nothing."""
    if not enabled():
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != REPLICAS:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)
        except RuntimeError as err:
            from challenge.errors import DataError

            raise DataError(f"{ENV}=1 must be set before TensorFlow starts (it was already running in this "
                            f"process): set it in the environment of the command, not from Python later.") from err
    _resolve_jit_as_on_a_gpu()


def _resolve_jit_as_on_a_gpu() -> None:
    """Keras 3 (keras/src/trainers/trainer.py) turns XLA off for `jit_compile="auto"` when no
    non-CPU device is visible; with a GPU it keeps the other two conditions. Those two, here."""
    from keras.src.trainers import trainer

    if getattr(trainer.Trainer._resolve_auto_jit_compile, "rehearsal", False):
        return

    def resolve_as_on_a_gpu(model) -> bool:
        if model._distribute_strategy:  # Keras: no XLA under tf.distribute
            return False
        return trainer.model_supports_jit(model)

    resolve_as_on_a_gpu.rehearsal = True
    trainer.Trainer._resolve_auto_jit_compile = resolve_as_on_a_gpu
