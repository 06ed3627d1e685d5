"""The reproduction scorecard: what each paper reports (`paper/reported/<target>.yaml`, format in
docs/scorecard.md), a verdict per reported number or claim against the target's aggregate CSV, and the
roll-up over targets and papers (LaTeX table, Markdown for the README). Torch-free: pandas and YAML only."""
