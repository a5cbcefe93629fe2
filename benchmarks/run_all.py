"""Every issue-14 measurement in one run, one after the other in one session (ratios compare
like with like on a noisy machine), then each aim with MET / NOT MET.

* ``pivotmodel simulate --jobs 2`` at 10k, 100k, 1M and 10M draws as the command line runs it
  (fresh process, every output written): wall time, peak memory (the largest resident size of
  it or a worker, from ``wait4``, and the largest total of the process tree, summed proportional
  set sizes sampled every 0.1 s), draws/s; beside it the bare-numpy floor of the same array
  work (``bench_simulate.numpy_floor``, up to 1M draws);
* the per-draw Python loop through the same model;
* CLI start time (``pivotmodel --help``, ``pivotmodel validate``) over a bare ``python -c pass``, and the
  part of it that is imports (``bench_simulate.import_time``: a fresh process importing what the command loaded);
* the engine against its hand-written version (``bench_engine.py``);
* the reference model in squigglepy and in pivotmodel's sampling (``bench_squigglepy.py``; the
  ``benchmark`` extra): the same model function on both sides, at 200k and 1M draws, best CPU
  time of three, alternating;
* draws to +/-0.5pp on a ~25% claim per sampling method (``bench_methods.py``);
* issue 25: a 20k run; the main process's own peak memory (``RUSAGE_SELF`` in the command's
  process, workers left out) at 1M, 10M and, with ``--huge``, 1e8 draws; ``pivotmodel report``
  cold (every chart drawn, ``--redraw``) and again (charts unchanged: copied), CPU seconds of the
  whole process tree and its stages; the Dask path (``--executor dask``, a LocalCluster of
  ``--jobs`` workers started by the command) at 1M, its files compared byte for byte with the
  local pool's; then each aim of issue 25 with MET / NOT MET and the load average.

    pip install -e ".[benchmark,distributed]"
    python benchmarks/run_all.py            # minutes: the 10M run alone takes a few
    python benchmarks/run_all.py --quick    # without 10M
    python benchmarks/run_all.py --huge     # also 1e8 draws (tens of minutes on two cores)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_methods  # noqa: E402
import bench_simulate as bs  # noqa: E402

import pivotmodel.assumptions as assumptions_mod  # noqa: E402
from pivotmodel.model import SERIES, project  # noqa: E402
from pivotmodel.periods import Timeline  # noqa: E402

GB = 1e9
# leaf revenue lines the model projects per draw (the totals are their sums)
REVENUE_LINES = (
    "china_ecommerce.quick_commerce_revenue",
    "china_ecommerce.other_revenue",
    "cloud.ai_revenue",
    "cloud.other_external_revenue",
    "cloud.internal_revenue",
    "international.revenue",
    "all_others.revenue",
)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


def engine_section() -> tuple[str, float | None]:
    """bench_engine's rows (its defaults: 25k draws, best CPU time of 11) as text, and the
    largest engine / hand-written ratio among its blocks."""
    try:
        import bench_engine
    except ImportError as e:  # pragma: no cover - depends on the checkout
        return f"bench_engine.py not importable ({e})", None
    rows = bench_engine.engine_rows()
    text = "\n".join(
        f"{r['block']}: engine {r['engine_ms']:.1f} ms CPU, hand-written {r['hand_written_ms']:.1f} ms, ratio "
        f"{r['ratio']:.2f}x, "
        f"outputs agree to {r['max_rel_diff']:.1e}"
        for r in rows
    )
    return text, max(r["ratio"] for r in rows) if rows else None


def squigglepy_section(draws: list[int], repeat: int, method: str, chunk: int) -> tuple[str, dict[int, float]]:
    """bench_squigglepy's same-work comparison as text, and pivotmodel's ratio to squigglepy
    (chunked, as simulate runs) at each size."""
    try:
        import bench_squigglepy
        import squigglepy  # noqa: F401
    except ImportError:
        return 'squigglepy not installed: pip install -e ".[benchmark]"', {}
    results = [bench_squigglepy.compare(n, repeat, method, chunk) for n in draws]
    text = (
        f"reference model ({bench_squigglepy.QUARTERS} quarters x {bench_squigglepy.LINES} revenue lines, 11 drivers, "
        f"4 rank-correlated, capex depreciation), the same model function on both sides; pivotmodel samples with its "
        f"{method} design; CPU seconds, best of {repeat}, alternating\n{bench_squigglepy.comparison_table(results)}\n\n"
        f"agreement at {results[-1]['draws']:,} "
        f"draws:\n{bench_squigglepy.agreement_table(results[-1]['agreement'])}\n\n"
        f"{bench_squigglepy.inputs_line(bench_squigglepy.inputs_comparison(min(draws), repeat))}"
    )
    return text, {r["draws"]: r["ratio"] for r in results}


# Runs a pivotmodel command in this fresh process and reports its own peak resident size
# (RUSAGE_SELF: the main process alone, not its workers) on the last line of stderr.
_MAIN_PEAK = (
    "import resource, sys\nfrom pivotmodel.cli import main\nrc = main(sys.argv[1:])\n"
    "print(f'main-peak-kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(rc)"
)
OUTPUT_FILES = ("claims.csv", "quantiles_fy.csv", "quantiles_cy.csv", "convergence.csv")


def command_run(argv: list[str]) -> dict[str, float]:
    """One ``pivotmodel`` command in a fresh process: wall seconds, CPU seconds of the process
    tree (it and every worker it waited for), the main process's own peak MiB, and its stderr."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _MAIN_PEAK, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out, err = proc.stdout.read() if proc.stdout else "", proc.stderr.read() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"pivotmodel {' '.join(argv)} failed: {err[-2000:]}")
    peak = re.findall(r"main-peak-kib (\d+)", err)
    return {
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "main_mib": int(peak[-1]) / 1024 if peak else float("nan"),
        "stdout": out,
        "stderr": err,
    }


def issue25_runs(tmp: str, jobs: int, sizes: list[int]) -> dict[str, dict]:
    """The issue-25 measurements: a 20k run, the main process's peak at each size, the report
    cold and warm, and the Dask path at 1M with its files compared with the local pool's."""
    out: dict[str, dict] = {
        "20k": command_run(["simulate", "--draws", "20000", "--jobs", str(jobs), "--out", f"{tmp}/r20k"])
    }
    for n in sizes:
        out[f"main {n}"] = command_run(
            ["simulate", "--draws", str(n), "--jobs", str(jobs), "--out", f"{tmp}/m{n}", "--max-memory", "1000"]
        )
    out["report cold"] = command_run(["report", "--out", f"{tmp}/report", "--redraw", "--profile"])
    out["report warm"] = command_run(["report", "--out", f"{tmp}/report", "--profile"])
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return out
    out["dask"] = command_run(
        ["simulate", "--draws", "1000000", "--jobs", str(jobs), "--executor", "dask", "--out", f"{tmp}/dask"]
    )
    same = all(Path(f"{tmp}/dask/{f}").read_bytes() == Path(f"{tmp}/m1000000/{f}").read_bytes() for f in OUTPUT_FILES)
    out["dask"]["identical"] = same
    return out


def print_issue25(
    runs: dict[str, dict], secs_1m: float, loop_rate: float, sq_ratios: dict[int, float], jobs: int
) -> None:
    """The report's stages, the Dask path, and each aim of issue 25 with MET / NOT MET."""
    stages = runs["report cold"]["stderr"]
    print(
        "\n`pivotmodel report` cold (every chart drawn), the main process's stages:\n"
        + "\n".join(line for line in stages.splitlines() if not line.startswith("main-peak"))
    )
    warm = runs["report warm"]
    print(f"again, inputs unchanged: {warm['seconds']:.1f} s wall, {warm['cpu']:.1f} CPU s; {warm['stdout'].strip()}")
    dask = runs.get("dask")
    if dask:
        print(
            f"\nDask path, `simulate --draws 1000000 --executor dask --jobs {jobs}` (a LocalCluster started by the "
            "command): "
            f"{dask['seconds']:.1f} s wall against {secs_1m:.1f} s on the local pool; files "
            f"{'byte-identical' if dask['identical'] else 'DIFFERENT'} ({', '.join(OUTPUT_FILES)})"
        )
    mains = {int(k.split()[1]): v["main_mib"] for k, v in runs.items() if k.startswith("main ")}
    largest = max(mains)
    growth = mains[largest] / mains[1_000_000] - 1
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n| aim (issue 25; load average now {load}) | measured | status |\n| --- | --- | --- |")
    print(f"| `simulate --draws 1000000 --jobs 2` <= 3 s wall | {secs_1m:.1f} s | {verdict(secs_1m <= 3.0)} |")
    s20 = runs["20k"]["seconds"]
    print(f"| a 20k run <= 1.5 s | {s20:.2f} s | {verdict(s20 <= 1.5)} |")
    cold = runs["report cold"]["cpu"]
    print(
        f"| `pivotmodel report` (20k draws) <= 5 CPU s cold | {cold:.1f} CPU s ({runs['report cold']['seconds']:.1f} s "
        "wall); "
        f"unchanged inputs {warm['cpu']:.1f} CPU s | {verdict(cold <= 5.0)} |"
    )
    sq = ", ".join(f"{r:.2f}x at {n:,}" for n, r in sq_ratios.items()) or "not run"
    print(
        f"| >= 6x squigglepy at 200k and 1M | {sq} | {verdict(min(sq_ratios.values()) >= 6.0 if sq_ratios else None)} |"
    )
    loop = 1_000_000 / secs_1m / loop_rate
    print(f"| >= 1,000x the per-draw loop | {loop:,.0f}x | {verdict(loop >= 1000)} |")
    flat = ", ".join(f"{n:,}: {m:,.0f} MiB" for n, m in sorted(mains.items()))
    print(
        f"| main-process memory flat from 1M to 1e8 (within 10%) | {flat} ({growth:+.0%} at {largest:,}) | "
        f"{verdict(growth <= 0.10) if largest >= 100_000_000 else 'not measured at 1e8 (--huge)'} |"
    )
    tree_1m = runs["main 1000000"]
    print(
        f"| main process peak <= 1.5 GB at 1M | {tree_1m['main_mib'] * 2**20 / GB:.2f} GB (workers: table above) | "
        f"{verdict(tree_1m['main_mib'] * 2**20 <= 1.5 * GB)} |"
    )
    if dask:
        print(
            f"| Dask path byte-identical to the local pool | 1M draws, {dask['seconds']:.1f} s | "
            f"{verdict(dask['identical'])} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 10M-draw run")
    parser.add_argument("--huge", action="store_true", help="also a 1e8-draw run (the main process's memory)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loop-draws", type=int, default=200)
    parser.add_argument("--squigglepy-draws", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--squigglepy-repeat", type=int, default=3)
    parser.add_argument("--method-seeds", type=int, default=20)
    args = parser.parse_args()
    sizes = [10_000, 100_000, 1_000_000] + ([] if args.quick else [10_000_000])
    a = assumptions_mod.load()
    tl = Timeline.between("FY2024Q1", a.horizon)
    quarters = len(project(a).timeline)
    projected = len(tl.labels) - tl.labels.index((a.history.last_quarter + 1).label)
    chunk = int(a.settings.get("chunk_size", 25_000))
    print(
        f"run_all {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; model {len(SERIES)} series x {quarters} quarters "
        f"({projected} projected), {len(REVENUE_LINES)} revenue lines; chunk {chunk:,}"
    )

    starts = {cmd: bs.start_time([cmd]) for cmd in ("--help", "validate")}
    imports = {cmd: bs.import_time([cmd]) for cmd in starts}
    for cmd, secs in starts.items():
        seconds, packages = imports[cmd]
        print(
            f"CLI start `pivotmodel {cmd}`: {secs:.2f} s over bare python, of which imports {seconds:.2f} s "
            f"(third-party: {', '.join(packages) or 'none'})"
        )
    _, loop_s, _ = bs.measure(lambda: bs.python_loop(a, args.loop_draws))
    loop_rate = args.loop_draws / loop_s
    print(f"per-draw Python loop: {loop_rate:,.0f} draws/s")

    print(
        "\n| stage | draws | seconds | draws/s | peak MiB, largest process | peak MiB, all processes | vs floor |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    runs: dict[int, tuple[float, float, float]] = {}
    floors: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            if n <= 1_000_000:
                _, floor_s, floor_mem = bs.measure(lambda n=n: bs.numpy_floor(n, quarters, len(SERIES), chunk))
                floors[n] = floor_s
                print(
                    f"| numpy floor | {n:,} | {floor_s:.2f} | {n / floor_s:,.0f} | {floor_mem:,.0f} | | 1.00 |",
                    flush=True,
                )
            secs, peak, tree = bs.simulate_run(n, args.jobs, tmp)
            runs[n] = (secs, peak, tree)
            vs = f"{secs / floors[n]:.2f}" if n in floors else ""
            print(
                f"| `pivotmodel simulate --jobs {args.jobs}` | {n:,} | {secs:.2f} | {n / secs:,.0f} | {peak:,.0f} | "
                f"{tree:,.0f} | {vs} |",
                flush=True,
            )
    secs_1m, _, peak_1m = runs[1_000_000]
    print(f"\nper-draw loop vs simulate at 1M: {1_000_000 / secs_1m / loop_rate:,.0f}x")

    engine_text, engine_ratio = engine_section()
    print(f"\nengine vs hand-written:\n{engine_text}")
    sq_text, sq_ratios = squigglepy_section(args.squigglepy_draws, args.squigglepy_repeat, a.settings["method"], chunk)
    print(f"\nsquigglepy, the same work:\n{sq_text}")

    rows = bench_methods.measure(a, bench_methods.CLAIM, [5_000, 20_000], args.method_seeds, args.jobs)
    print(f"\nclaim {bench_methods.CLAIM}, draws to +/-0.5pp:\n{bench_methods.table(rows, args.method_seeds)}")
    need = {r["method"]: r["needed_reported"] for r in rows if r["draws"] == 20_000}

    print("\n| aim (issue 14) | measured | status |\n| --- | --- | --- |")
    floor_ratio = secs_1m / floors[1_000_000]
    print(f"| 1M draws, everything written, <= 3 s | {secs_1m:.1f} s | {verdict(secs_1m <= 3.0)} |")
    print(f"| <= 4x the same-window numpy floor at 1M | {floor_ratio:.2f}x | {verdict(floor_ratio <= 4.0)} |")
    print(
        f"| peak <= 1.5 GB at 1M (all processes) | {peak_1m * 2**20 / GB:.2f} GB | "
        f"{verdict(peak_1m * 2**20 <= 1.5 * GB)} |"
    )
    if 10_000_000 in runs:
        s10, _, p10 = runs[10_000_000]
        claims = len(a.claims)
        per_claim = (p10 - peak_1m) * 2**20 / 9e6 / claims  # bytes a draw a claim from 1M to 10M
        print(
            "| 10M completes; beyond 1M memory grows only by the claim outcomes (<= 4 bytes a claim a draw) | "
            f"{s10:.0f} s, "
            f"{p10 * 2**20 / GB:.2f} GB ({per_claim:.1f} bytes a claim a draw over 1M) | {verdict(per_claim <= 4)} |"
        )
    else:
        print("| 10M completes in bounded memory | skipped (--quick) | n/a |")
    print(
        f"| engine within 1.5x of hand-written | {f'{engine_ratio:.2f}x' if engine_ratio else 'see above'} | "
        f"{verdict(None if engine_ratio is None else engine_ratio <= 1.5)} |"
    )
    sq_measured = ", ".join(f"{r:.2f}x at {n:,} draws" for n, r in sq_ratios.items()) or "not run"
    print(
        f"| >= 6x squigglepy per draw x quarter x line (same work; met when met at every size) | {sq_measured} | "
        f"{verdict(min(sq_ratios.values()) >= 6.0 if sq_ratios else None)} |"
    )
    for cmd, secs in starts.items():
        seconds = imports[cmd][0]
        print(
            f"| CLI start `pivotmodel {cmd}` <= 0.3 s of imports | imports {seconds:.2f} s (whole command {secs:.2f} "
            "s) | "
            f"{verdict(seconds <= 0.3)} |"
        )
    best = min(need, key=lambda m: need[m])
    print(
        f"| LHS pays, or Sobol the default where it wins | draws to +/-0.5pp: "
        f"{', '.join(f'{m} {need[m]:,.0f}' for m in need)}; default {a.settings['method']} | "
        f"{verdict(a.settings['method'] == best or need[a.settings['method']] <= 1.1 * need[best])} |"
    )
    with tempfile.TemporaryDirectory() as tmp:
        main_sizes = [1_000_000] + ([] if args.quick else [10_000_000]) + ([100_000_000] if args.huge else [])
        print_issue25(issue25_runs(tmp, args.jobs, main_sizes), secs_1m, loop_rate, sq_ratios, args.jobs)


if __name__ == "__main__":
    main()
