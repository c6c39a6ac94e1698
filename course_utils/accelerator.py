"""Find the hardware and return a ``tf.distribute`` strategy for it (the course's "GPU setup").

``setup()`` looks for a TPU, then GPUs, then falls back to the CPU:

* a TPU (Colab TPU runtime)   -> ``TPUStrategy``
* several GPUs                -> ``MirroredStrategy`` (data parallel, TensorFlow's own engine)
* one GPU                     -> ``OneDeviceStrategy("/gpu:0")``, with memory growth on
* CPU only                    -> the default strategy

Build and compile models inside ``with strategy.scope():`` and they train on whatever was found.

``setup(mixed_precision=True)`` also computes in bfloat16 where that was measured to pay: on a CPU
with AMX bfloat16 units (Intel Xeon since Sapphire Rapids), where the GAN training steps of chapters 04
and 05 ran faster than in float32 (``python -m tools.benchmark``) and a 24-epoch run of chapter 06
took 24 minutes instead of 34 to 40, and on a TPU, whose native format it is. Weights stay float32. GPUs keep
float32 until mixed precision is measured on one: the chapters' hand-written training steps do no loss
scaling, which float16 would need.
"""

import contextlib
import os
import platform
from pathlib import Path

import keras
import tensorflow as tf

MIN_TENSORFLOW = (2, 16)


def _version_tuple(version):
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def check_versions():
    """Raise a clear error on a TensorFlow/Keras older than the course supports."""
    if _version_tuple(tf.__version__) < MIN_TENSORFLOW:
        raise RuntimeError(
            f"TensorFlow {tf.__version__} is too old for this course (it needs >= "
            f"{'.'.join(map(str, MIN_TENSORFLOW))} with Keras 3). Upgrade with: "
            "pip install -U -r requirements.txt"
        )
    if int(keras.__version__.split(".")[0]) < 3:
        raise RuntimeError(
            f"Keras {keras.__version__} is Keras 2; the course is written for Keras 3. "
            "Upgrade with: pip install -U -r requirements.txt"
        )


def _find_tpu():
    if "COLAB_TPU_ADDR" not in os.environ and "TPU_NAME" not in os.environ:
        return None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, tf.errors.OpError):
        return None


def strategy_for(gpus, tpu=None):
    """Choose the strategy for the given hardware (split out so it can be tested)."""
    if tpu is not None:
        return tf.distribute.TPUStrategy(tpu)
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy("/gpu:0")
    return tf.distribute.get_strategy()


def cpu_has_bf16_matrix_units(cpuinfo=Path("/proc/cpuinfo")):
    """Whether this CPU has AMX bfloat16 units, read from the Linux kernel's CPU flags (else False)."""
    try:
        return "amx_bf16" in Path(cpuinfo).read_text().split()
    except OSError:  # not Linux: no flags to read, so stay in float32
        return False


def precision_policy(mixed_precision, gpus, tpu=None, cpu_bf16=None):
    """The Keras dtype policy for this hardware (split out so it can be tested).

    bfloat16 is used only where it was asked for and pays: on TPUs and on CPUs with AMX bfloat16
    units. Most laptop and cloud CPUs would emulate it, slower than float32; on GPUs it is not
    measured yet. Everywhere else float32 stays.
    """
    if not mixed_precision:
        return "float32"
    if tpu is not None:
        return "mixed_bfloat16"
    if gpus:
        return "float32"
    if cpu_bf16 is None:
        cpu_bf16 = cpu_has_bf16_matrix_units()
    return "mixed_bfloat16" if cpu_bf16 else "float32"


@contextlib.contextmanager
def global_policy(name):
    """Build models under the Keras dtype policy ``name`` inside a with-block, then restore the old one."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def cpu_model(cpuinfo=Path("/proc/cpuinfo")):
    """The CPU's model name (e.g. "AMD EPYC"), read from ``/proc/cpuinfo`` where there is one."""
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_vector_units(cpuinfo=Path("/proc/cpuinfo")):
    """The widest vector instructions of the CPU ("AVX-512" or "AVX2"), None where ``cpuinfo`` names neither.

    Two CPUs with the same model name (a cloud's "AMD EPYC") can differ here, and by about twice in speed."""
    try:
        flag_lines = [line for line in Path(cpuinfo).read_text().splitlines() if line.startswith("flags")]
    except OSError:
        return None
    flags = set(flag_lines[0].split(":", 1)[1].split()) if flag_lines else set()
    if "avx512f" in flags:
        return "AVX-512"
    return "AVX2" if "avx2" in flags else None


def cpu_description(cpuinfo=Path("/proc/cpuinfo")):
    """The CPU's model name with its widest vector instructions where known, e.g. "AMD EPYC, AVX-512"."""
    units = cpu_vector_units(cpuinfo)
    return cpu_model(cpuinfo) + (f", {units}" if units else "")


def gpu_names(gpus):
    """The distinct model names of ``gpus`` (physical devices), sorted."""
    return sorted({tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus})


def hardware_line():
    """Name the machine for a results file: GPU model(s) if TensorFlow sees any, else the CPU and its cores."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"{len(gpus)}x GPU ({', '.join(gpu_names(gpus))})"
    return f"CPU only, {os.cpu_count()} cores ({cpu_description()})"


def describe(strategy, gpus, policy="float32"):
    """The one honest line about the hardware this run uses."""
    precision = "mixed bfloat16" if policy == "mixed_bfloat16" else "float32"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        where = f"TPU with {strategy.num_replicas_in_sync} cores"
    elif gpus:
        where = f"{len(gpus)} GPU(s): {', '.join(gpu_names(gpus))}"
    else:
        where = (f"CPU only ({os.cpu_count()} cores, {cpu_description()}); "
                 "training is slower than on a GPU, see the time estimates at the top")
    return (f"Hardware: {where} | strategy: {type(strategy).__name__} with "
            f"{strategy.num_replicas_in_sync} replica(s) | {precision} | TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}")


def setup(mixed_precision=False):
    """Detect the hardware, configure it, print one line about it and return a strategy.

    ``mixed_precision=True`` computes in 16 bits where that pays (``precision_policy``) and is
    ignored where it would only be slower.
    """
    check_versions()
    tpu = _find_tpu()
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU was already initialised by an earlier cell: keep its setting
            pass
    policy = precision_policy(mixed_precision, gpus, tpu)
    keras.mixed_precision.set_global_policy(policy)
    strategy = strategy_for(gpus, tpu)
    print(describe(strategy, gpus, policy))
    return strategy
