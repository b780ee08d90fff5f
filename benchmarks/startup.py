"""Start-up cost of `deeptempo-entrypoint check`, the path every container start and probe-triggered
restart runs, as ratios against baselines measured in the same run (runs interleaved, medians):

    check / python -c pass        the whole cost over a bare interpreter
    import click / python -c pass the floor of any click program
    check / import click          target: at most 1.2

Usage: python benchmarks/startup.py [--rounds N] [--max-ratio R]   (exit 1 when check/click > R)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def commands():
    entrypoint = shutil.which("deeptempo-entrypoint", path=os.path.dirname(sys.executable)) or shutil.which("deeptempo-entrypoint")
    check = [entrypoint, "check"] if entrypoint else [sys.executable, "-m", "entrypoint", "check"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "deeptempo-entrypoint check": check,
    }


def environment(home):
    # Built-in spec, valid secrets in the environment, no env-file, no secrets directory.
    environ = {key: value for key, value in os.environ.items() if not key.startswith("DEEPTEMPO_")}
    environ.update({"HOME": home, "CLAUDE_API_KEY": "sk-ant-benchmark0123456789", "DEEPTEMPO_SECRETS_DIR": home})
    return environ


def measure(rounds):
    timings = {name: [] for name in commands()}
    with tempfile.TemporaryDirectory() as home:
        environ = environment(home)
        for argv in commands().values():  # warm the page cache once
            subprocess.run(argv, env=environ, check=True, stdout=subprocess.DEVNULL)
        for _ in range(rounds):
            for name, argv in commands().items():
                started = time.perf_counter()
                subprocess.run(argv, env=environ, check=True, stdout=subprocess.DEVNULL)
                timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in timings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--max-ratio", type=float, default=None)
    args = parser.parse_args()
    medians = measure(args.rounds)
    bare, click_floor, check = medians.values()
    for name, value in medians.items():
        print(f"{name:<28} median {value * 1000:7.1f} ms")
    print(f"ratio check / python -c pass:        {check / bare:5.2f}")
    print(f"ratio import click / python -c pass: {click_floor / bare:5.2f}")
    print(f"ratio check / import click:          {check / click_floor:5.2f}  (target <= 1.2)")
    if args.max_ratio is not None and check / click_floor > args.max_ratio:
        print(f"FAIL: check is {check / click_floor:.2f} times the click floor (> {args.max_ratio})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
