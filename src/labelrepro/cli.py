"""Command line used by the Snakemake rules (and by hand): `python -m labelrepro <command>`.

  train      train one or several runs (job specs as JSON), each into its run folder
  aggregate  gather a target's run folders into curves.csv and aggregate.csv
  render     draw an experiment's figure or table from the aggregated CSVs
  targets    print the target table (Markdown) of every experiment
  standin    write the smoke-scale stand-in of a dataset (synthetic, torchvision's format)
  provenance record the commits, config hashes and data behind a target's runs (provenance.json)
  scorecard  verdicts of one target's reported numbers and claims against its aggregate CSV
  scorecard-summary  roll the targets' scorecards up (LaTeX, Markdown, optionally the README section)
  paper-body write the LaTeX body of paper/main.tex: every target, captioned with its provenance
  alasca-model-stats  seed 002 Figs. 1/2b: penultimate and Jacobian norms of a target's saved models
  limit-gradient-stats  seed 001 Figs. A1-A3: per-example predicted-gradient statistics of saved LIMIT nets
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.engine.runtime import Runtime
from labelrepro.registry import RENDERERS, UnknownNameError


def cmd_train(args: argparse.Namespace) -> None:
    """Train the listed runs one after the other in this process (several: a packed smoke-scale job)."""
    from labelrepro.engine.job import Job
    from labelrepro.engine.loop import train

    runtime = settings_from_dict(Runtime, json.loads(args.runtime), "runtime options")
    jobs = json.loads(args.jobs)
    labels = json.loads(args.labels) if args.labels else []
    for k, entry in enumerate(jobs, start=1):
        label = labels[k - 1] if k <= len(labels) else f"{entry['spec']['trainer']}/{Path(entry['out']).name}"
        if len(jobs) > 1:
            label += f" ({k}/{len(jobs)})"
        train(Job(spec=entry["spec"], runtime=runtime, out_dir=Path(entry["out"]), label=label))


def cmd_aggregate(args: argparse.Namespace) -> None:
    from labelrepro.engine.aggregate import aggregate
    from labelrepro.experiment import Plan, load_experiments

    experiments = load_experiments()
    if args.target not in experiments:
        raise ConfigError(f"unknown target '{args.target}'; known: {', '.join(experiments)}")
    manifest = Plan(experiments).manifest(args.target, args.scale)
    aggregate(experiments[args.target].aggregate, manifest, args.curves, args.aggregate)


def cmd_render(args: argparse.Namespace) -> None:
    try:
        renderer = RENDERERS[args.renderer]
    except UnknownNameError as err:
        raise ConfigError(str(err)) from None
    curves = pd.read_csv(args.curves)
    final = pd.read_csv(args.aggregate)
    cells = renderer(curves, final, Path(args.out), args.scale)
    if args.cells_out:
        if cells is None:
            raise ConfigError(f"renderer '{args.renderer}' draws a figure and returns no table cells")
        from labelrepro.core import atomic

        atomic.write_csv(args.cells_out, cells)


#: Written by benchmarks/bench_gpu.py (`make bench-gpu`); `targets` shows its measurements when present.
GPU_COSTS = "benchmarks/results/gpu_costs.csv"


def _span(values: pd.Series) -> str:
    low, high = values.min(), values.max()
    return f"{low:.3g}" if low == high else f"{low:.3g}-{high:.3g}"


def measured_costs(path: Path) -> dict[str, str]:
    """Target -> its paper-scale cost measured by bench_gpu.py, for targets measured completely."""
    if not path.exists():
        return {}
    frame = pd.read_csv(path)
    texts = {}
    for target, rows in frame[frame["target"] != "loader"].groupby("target"):
        if not (rows["status"] == "ok").all():
            continue
        first = rows.iloc[0]
        kind = "GPU" if first["device_type"] == "cuda" else "CPU"
        runs = int(rows["runs"].sum())
        texts[str(target)] = (
            f"measured on {first['device']}: {first['target_device_hours']:.3g} {kind}-h "
            f"({_span(rows['min_per_epoch'])} min/epoch, {runs} run{'s' * (runs != 1)} x "
            f"{_span(rows['epochs'])} epochs; `make bench-gpu`, {str(first['date'])[:10]})"
        )
    return texts


def cmd_targets(args: argparse.Namespace) -> None:
    from labelrepro import paths
    from labelrepro.experiment import load_experiments

    measured = measured_costs(Path(getattr(args, "gpu_costs", None) or paths.REPO_ROOT / GPU_COSTS))
    print("| target | paper element | command | smoke runtime (CPU) | paper-scale cost |")
    print("|---|---|---|---|---|")
    for exp in load_experiments().values():
        print(
            f"| `{exp.name}` | {exp.paper}, {exp.element} | `snakemake --cores all {exp.output}` "
            f"| {exp.cost['smoke_runtime']} | {measured.get(exp.name, exp.cost['paper_cost'])} |"
        )


def cmd_standin(args: argparse.Namespace) -> None:
    from labelrepro.data.standin import write_standin

    if args.dataset == "clothing1m":  # seed 002's Table 2: a FAKE copy in Clothing1M's own layout
        from labelrepro.core import atomic
        from labelrepro.data.standin import STANDIN_SEED
        from labelrepro.papers.alasca.clothing1m import clothing1m_root, write_fake_copy

        with atomic.atomic_directory(args.out) as staging:
            write_fake_copy(clothing1m_root(staging), seed=STANDIN_SEED)
        print(f"wrote a FAKE Clothing1M copy (synthetic JPEGs, not the real data) to {args.out}/clothing1m")
        return
    try:
        out = write_standin(args.out, args.dataset)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    print(f"wrote the smoke-scale STAND-IN of {args.dataset} (synthetic images, not the real data) to {out}")


def cmd_provenance(args: argparse.Namespace) -> None:
    from labelrepro.experiment import Plan, load_experiments
    from labelrepro.provenance import target_provenance

    experiments = load_experiments()
    if args.target not in experiments:
        raise ConfigError(f"unknown target '{args.target}'; known: {', '.join(experiments)}")
    manifest = Plan(experiments).manifest(args.target, args.scale)
    target_provenance(args.target, args.scale, args.data, manifest, Path(args.out))


def cmd_scorecard(args: argparse.Namespace) -> None:
    from labelrepro.core import atomic
    from labelrepro.scorecard.reported import load_reported
    from labelrepro.scorecard.verdict import score

    reported = load_reported(args.reported)
    if reported.target != args.target:
        raise ConfigError(f"{args.reported} is for target '{reported.target}', not '{args.target}'")
    card = score(reported, pd.read_csv(args.aggregate), args.scale, args.data, args.k)
    atomic.write_csv(args.out, card)


def cmd_scorecard_summary(args: argparse.Namespace) -> None:
    from labelrepro.experiment import load_experiments
    from labelrepro.scorecard.summary import to_markdown, update_readme, write_summary

    papers = {name: exp.paper for name, exp in load_experiments(args.experiments).items()}
    missing = f"not run at scale {args.scale} yet" if args.list_missing else None
    table = write_summary([Path(p) for p in args.cards], papers, args.scale, Path(args.tex),
                          Path(args.markdown), Path(args.csv), missing)
    if args.readme:
        from labelrepro.scorecard.summary import per_paper

        update_readme(Path(args.readme), to_markdown(table, per_paper(table), args.scale))


def cmd_paper_body(args: argparse.Namespace) -> None:
    from labelrepro.paper_document import write_body

    write_body(Path(args.out), [Path(p) for p in args.provenance], args.scale, Path(args.experiments))


def cmd_alasca_model_stats(args: argparse.Namespace) -> None:
    from labelrepro.papers.alasca.jacobian import target_model_stats

    target_model_stats(args.target, args.scale, args.runtime, args.curves, args.aggregate)


def cmd_limit_gradient_stats(args: argparse.Namespace) -> None:
    from labelrepro.papers.limit.gradient_stats import target_gradient_stats

    target_gradient_stats(args.target, args.scale, args.runtime, args.curves, args.aggregate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labelrepro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train one or several runs")
    train.add_argument("--jobs", required=True,
                       help='JSON list of {"spec": ..., "out": run folder} (labelrepro.experiment.Run.spec)')
    train.add_argument("--runtime", default="{}", help="runtime options JSON (device, checkpoint_dir, ...)")
    train.add_argument("--labels", default="", help="JSON list: a readable name per run (progress lines)")
    train.set_defaults(func=cmd_train)

    agg = sub.add_parser("aggregate", help="gather a target's run folders into curves.csv and aggregate.csv")
    agg.add_argument("--target", required=True)
    agg.add_argument("--scale", required=True)
    agg.add_argument("--curves", required=True)
    agg.add_argument("--aggregate", required=True)
    agg.set_defaults(func=cmd_aggregate)

    render = sub.add_parser("render", help="draw a figure or table")
    render.add_argument("--renderer", required=True)
    render.add_argument("--scale", required=True)
    render.add_argument("--curves", required=True)
    render.add_argument("--aggregate", required=True)
    render.add_argument("--out", required=True)
    render.add_argument("--cells-out", help="tables: where to write the table's cells as CSV")
    render.set_defaults(func=cmd_render)

    targets = sub.add_parser("targets", help="print the Markdown table of all targets")
    targets.set_defaults(func=cmd_targets)

    standin = sub.add_parser("standin", help="write the smoke-scale stand-in of a dataset")
    standin.add_argument("--dataset", required=True)
    standin.add_argument("--out", required=True, help="directory (created atomically)")
    standin.set_defaults(func=cmd_standin)

    prov = sub.add_parser("provenance", help="commits, config hashes and data of a target's runs")
    prov.add_argument("--target", required=True)
    prov.add_argument("--scale", required=True)
    prov.add_argument("--data", required=True, help="standin | real | synthetic")
    prov.add_argument("--out", required=True)
    prov.set_defaults(func=cmd_provenance)

    card = sub.add_parser("scorecard", help="verdicts of one target against what its paper reports")
    card.add_argument("--target", required=True)
    card.add_argument("--scale", required=True)
    card.add_argument("--data", required=True, help="standin | real | synthetic")
    card.add_argument("--reported", required=True, help="paper/reported/<target>.yaml")
    card.add_argument("--aggregate", required=True)
    card.add_argument("--k", type=float, default=2.0, help="reproduced = within k combined standard errors")
    card.add_argument("--out", required=True)
    card.set_defaults(func=cmd_scorecard)

    summary = sub.add_parser("scorecard-summary", help="roll the targets' scorecards up")
    summary.add_argument("--scale", required=True)
    summary.add_argument("--cards", nargs="+", required=True)
    summary.add_argument("--tex", required=True)
    summary.add_argument("--markdown", required=True)
    summary.add_argument("--csv", required=True)
    summary.add_argument("--readme", help="also rewrite this README's generated scorecard section")
    summary.add_argument("--experiments", default="workflow/experiments", help="the experiment files")
    summary.add_argument("--list-missing", action="store_true",
                         help="give the targets without a scorecard a row saying so (README at paper scale)")
    summary.set_defaults(func=cmd_scorecard_summary)

    body = sub.add_parser("paper-body", help="the LaTeX body of paper/main.tex")
    body.add_argument("--scale", required=True)
    body.add_argument("--provenance", nargs="+", required=True)
    body.add_argument("--out", required=True)
    body.add_argument("--experiments", default="workflow/experiments", help="the experiment files")
    body.set_defaults(func=cmd_paper_body)

    stats = sub.add_parser("alasca-model-stats",
                           help="seed 002: per-sample penultimate and Jacobian norms of saved models")
    stats.add_argument("--target", required=True)
    stats.add_argument("--scale", required=True)
    stats.add_argument("--runtime", default="{}", help="runtime options JSON (device, data_dir, ...)")
    stats.add_argument("--curves", required=True, help="per-sample table (curves.csv)")
    stats.add_argument("--aggregate", required=True, help="per-run summary (aggregate.csv)")
    stats.set_defaults(func=cmd_alasca_model_stats)

    grads = sub.add_parser("limit-gradient-stats",
                           help="seed 001: per-example predicted-gradient statistics of saved LIMIT nets")
    grads.add_argument("--target", required=True)
    grads.add_argument("--scale", required=True)
    grads.add_argument("--runtime", required=True, help="JSON: dataset -> runtime options (data_dir, ...)")
    grads.add_argument("--curves", required=True, help="per-example table (curves.csv)")
    grads.add_argument("--aggregate", required=True, help="per-case summary (aggregate.csv)")
    grads.set_defaults(func=cmd_limit_gradient_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
