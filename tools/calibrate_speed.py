"""Refer the parts of the speed workload to the course's reference machine (a maintainers' tool).

    python -m tools.calibrate_speed [--rounds 7]

The course's first speed index timed two of today's parts, the small conv net and the LSTM, 60 steps each,
with Keras's default compilation (``jit_compile="auto"``), against 4.68 s on the reference machine. This tool
alternates that first workload with every part of ``course_utils.speed.PARTS`` on one machine, reads the
machine's first index from the first workload's median time, and prints each part's time on the reference
machine (its median time here multiplied by that index), to be written into ``PARTS``. Run it on a machine
that runs nothing else: it is a measurement.
"""

import argparse
import json
import statistics

from course_utils import speed

FIRST_REFERENCE_SECONDS = 4.68  # the first workload's time on the reference machine


def first_workload():
    """The first index's workload as it was timed: the conv and LSTM parts, 60 steps each, compiled with
    Keras's default (``jit_compile="auto"``); returns a function that times it once."""
    parts = [speed.compiled(name, jit_compile="auto") for name in ("conv", "lstm")]
    return lambda: sum(speed.steps_seconds(*part, 60) for part in parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    first = first_workload()
    first_times, part_times = [], {name: [] for name in speed.PARTS}
    for round_number in range(args.rounds):
        first_times.append(first())
        for name, seconds in speed.part_seconds(repeats=1).items():
            part_times[name].append(seconds)
        print(f"round {round_number + 1}: first workload {first_times[-1]:.2f} s, parts "
              + ", ".join(f"{name} {times[-1]:.2f} s" for name, times in part_times.items()), flush=True)
    first_index = FIRST_REFERENCE_SECONDS / statistics.median(first_times)
    reference = {name: round(statistics.median(times) * first_index, 3) for name, times in part_times.items()}
    print(f"first index of this machine: {first_index:.3f} (range {FIRST_REFERENCE_SECONDS / max(first_times):.3f}"
          f" to {FIRST_REFERENCE_SECONDS / min(first_times):.3f})")
    print("reference seconds per part:", json.dumps(reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
