"""The accelerator helper: strategy choice, the hardware line, and real multi-replica training."""

import subprocess
import sys
import textwrap

import pytest

from course_utils import accelerator


def test_cpu_only_gives_default_strategy_and_honest_line(capsys):
    strategy = accelerator.setup()
    line = capsys.readouterr().out.strip()
    assert strategy.num_replicas_in_sync == 1
    assert line.startswith("Hardware: CPU only")
    assert "float32" in line and "TensorFlow" in line


@pytest.mark.parametrize("mixed, gpus, tpu, cpu_bf16, expected", [
    (False, ["gpu"], None, True, "float32"),  # not asked for: float32 everywhere
    (True, ["gpu"], None, True, "float32"),  # not measured on a GPU yet
    (True, [], "tpu", False, "mixed_bfloat16"),
    (True, [], None, True, "mixed_bfloat16"),  # a CPU with AMX bfloat16 units
    (True, [], None, False, "float32"),  # any other CPU: 16-bit would be emulated, slower
])
def test_precision_policy_uses_16_bits_only_where_it_pays(mixed, gpus, tpu, cpu_bf16, expected):
    assert accelerator.precision_policy(mixed, gpus, tpu, cpu_bf16) == expected


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    with_amx, without = tmp_path / "amx", tmp_path / "plain"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n")
    assert accelerator.cpu_has_bf16_matrix_units(with_amx)
    assert not accelerator.cpu_has_bf16_matrix_units(without)
    assert not accelerator.cpu_has_bf16_matrix_units(tmp_path / "missing")


def test_setup_sets_and_prints_the_policy_it_chose(capsys, monkeypatch):
    import keras

    for has_amx, policy, words in [(False, "float32", "float32"), (True, "mixed_bfloat16", "mixed bfloat16")]:
        monkeypatch.setattr(accelerator, "cpu_has_bf16_matrix_units", lambda: has_amx)
        try:
            accelerator.setup(mixed_precision=True)
            assert keras.mixed_precision.global_policy().name == policy
            assert f"| {words} |" in capsys.readouterr().out
        finally:
            keras.mixed_precision.set_global_policy("float32")


def test_old_tensorflow_is_refused_with_upgrade_advice(monkeypatch):
    monkeypatch.setattr(accelerator.tf, "__version__", "2.12.0")
    with pytest.raises(RuntimeError, match="pip install -U -r requirements.txt"):
        accelerator.check_versions()


def test_mirrored_strategy_over_two_logical_cpus_trains_a_step():
    # Logical devices must be configured before TensorFlow starts, so use a fresh process.
    script = textwrap.dedent(
        """
        import numpy as np, tensorflow as tf, keras
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
        with strategy.scope():
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
        before = model.get_weights()[0].copy()
        x = np.random.rand(8, 4).astype("float32"); y = np.ones((8, 1), "float32")
        history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert not np.allclose(before, model.get_weights()[0]), "weights did not change"
        print("replicas", strategy.num_replicas_in_sync)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "replicas 2" in result.stdout


def test_cpu_model_reads_the_model_name(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\nflags\t: fpu\n")
    assert accelerator.cpu_model(cpuinfo) == "AMD EPYC 9R14"
    assert accelerator.cpu_model(tmp_path / "missing")  # falls back to what platform knows


@pytest.mark.parametrize("flags, units", [("fpu avx2 avx512f avx512bw", "AVX-512"), ("fpu sse4_2 avx avx2 fma", "AVX2"),
                                          ("fpu sse4_2", None)])
def test_the_description_adds_the_widest_vector_instructions(tmp_path, flags, units):
    # Cloud CPUs share a model name ("AMD EPYC") across generations that differ about twice in speed.
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n")
    assert accelerator.cpu_vector_units(cpuinfo) == units
    assert accelerator.cpu_description(cpuinfo) == ("AMD EPYC" if units is None else f"AMD EPYC, {units}")
    assert accelerator.cpu_vector_units(tmp_path / "missing") is None
