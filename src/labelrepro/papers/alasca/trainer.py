"""Seed 002 (Ko, Yi & Yun, ALASCA): the runs of Table 1 (LNL methods ± ALASCA, CIFAR-10/100), Table 3
(efficiency, AC architecture) and Table 4 (component analysis) — ResNet-34 on noisy CIFAR, one seed per job —
and Table 2 (`dataset: clothing1m`, `backbone: resnet50`: ResNet-50 on Clothing1M's files, batches from
`clothing1m_data`, the network from `resnet50`).

Table 1's methods add three hooks: `setup` (per-run state in `run.extras`), `start_epoch` (CRUST's and
FINE's selection) and, for Co-teaching (`two_networks`), a second network (`run.peer`) that steps on the
same batches with `pair_loss`. Selection methods log per-batch counts whose epoch sums give `select_f1`.

`method` selects one row's training objective, declared with its table labels in
`labelrepro.papers.alasca.methods` (one class per method); this module runs it: the method's `loss` per
minibatch, its `after_backward` hook (CDR's masking) and, for a method with `stage1_epochs` (HAR), a
second stage on a fresh network.

Every run with ACs records the test accuracy of the main head (`test_acc`, "ALASCA") and of the
ensemble of all classifiers (`test_acc_ens`, "ALASCA*") from the same network, so the starred row needs
no second training. Each epoch also records the training time and peak memory (`core.efficiency`) from
which Table 3's "× Standard" columns are computed.

`RUN` (`AlascaRun`) is what the engine's loop (`labelrepro.engine.loop.train`) drives: one seed per run,
one epoch per unit, HAR's two stages inside the same run.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Any

import torch

from labelrepro.core.efficiency import EfficiencyMeter
from labelrepro.core.seeding import make_generator
from labelrepro.data.vision import BatchAugment, DeviceBatchLoader, DeviceDataset
from labelrepro.engine import image as supervised
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput
from labelrepro.engine.optim import build_optimizer, build_scheduler
from labelrepro.models.resnet_cifar import ResNetCifar, resnet34_cifar
from labelrepro.papers.alasca import clothing1m_data, har
from labelrepro.papers.alasca import losses as als
from labelrepro.papers.alasca.auxiliary import ResNetWithACs
from labelrepro.papers.alasca.confidence import ConfidenceLog, epoch_row
from labelrepro.papers.alasca.methods import METHODS, Method
from labelrepro.papers.alasca.resnet50 import ResNet50Features, resnet50_acs
from labelrepro.papers.alasca.settings import AlascaSettings as Settings

AC_POSITIONS = {"third": (3,), "all": (1, 2, 3)}


class Network(torch.nn.Module):
    """Backbone with or without ACs behind one interface: forward → (main logits, AC logits, stage outputs).

    The stage outputs are returned so that HAR can differentiate the logits with respect to them.
    """

    def __init__(self, backbone: ResNetCifar, acs: torch.nn.ModuleList, positions: tuple[int, ...]):
        super().__init__()
        self.backbone = backbone
        self.acs = acs
        self.positions = positions

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        feats = self.backbone.forward_features(x)
        main = self.backbone.classify(feats[-1])
        acs = [ac(feats[p - 1]) for ac, p in zip(self.acs, self.positions, strict=True)]
        return main, acs, feats[:-1]


def build_network(settings: Settings, num_classes: int, seed: int, stream: str = "init") -> Network:
    """ResNet-34 (+ ACs) initialised from the run's seed: every method starts from the same backbone
    (Co-teaching's second network from its own `stream`)."""
    generator = make_generator(seed, stream)
    if settings.backbone == "resnet50":  # Table 2 (Clothing1M): the official branch ACs after layer1-3
        net50: Any = ResNet50Features(num_classes, settings.pretrained, generator)
        if not settings.has_acs:
            return Network(net50, torch.nn.ModuleList(), ())
        return Network(net50, resnet50_acs(num_classes, AC_POSITIONS["all"], generator), AC_POSITIONS["all"])
    backbone = resnet34_cifar(num_classes, generator=generator, base_width=settings.base_width)
    if getattr(METHODS[settings.method], "exposes_bn_outputs", False):  # HAR's penalised tensors
        har.expose_block_normalised_outputs_(backbone)
    if not settings.has_acs:
        return Network(backbone, torch.nn.ModuleList(), ())
    with_acs = ResNetWithACs(backbone, settings.ac_type, AC_POSITIONS[settings.ac_positions], generator,
                             mlp_pool=settings.mlp_ac_pool)
    return Network(backbone, with_acs.acs, with_acs.positions)


@torch.no_grad()
def evaluate(net: Network, settings: Settings, splits: supervised.Splits) -> dict[str, float]:
    """Test accuracy of the main head and (with ACs) of the ensemble of all classifiers, as fractions."""
    net.eval()
    correct = defaultdict(float)
    device = splits.clean_labels.device
    for _, images, labels in _test_batches(splits, settings.eval_batch_size):
        with supervised.autocast(device, settings.amp):
            main, acs, _ = net(supervised.to_input(images, settings.channels_last))
        correct["test_acc"] += (main.argmax(-1) == labels).sum().item()
        if acs:
            star = als.alasca_star_logits(
                main.float(), [a.float() for a in acs], settings.ensemble_combine, settings.ensemble_heads
            )
            correct["test_acc_ens"] += (star.argmax(-1) == labels).sum().item()
            for k, ac in enumerate(acs):
                correct[f"test_acc_ac{k + 1}"] += (ac.argmax(-1) == labels).sum().item()
    n = len(splits.test)
    metrics = {key: value / n for key, value in correct.items()}
    metrics.setdefault("test_acc_ens", math.nan)
    return metrics


@torch.no_grad()
def har_strengths(net: Network, settings: Settings, splits: supervised.Splits,
                  heldout: torch.Tensor) -> torch.Tensor:
    """HAR's per-class strengths s_c (`weight_est.py`) from the stage-1 network's class errors on the
    held-out part of the training set (given labels) and the class counts of the whole training set."""
    net.eval()
    train = splits.train
    heldout = heldout.to(train.device)
    preds = torch.empty(len(heldout), dtype=torch.int64, device=train.device)
    for start in range(0, len(heldout), settings.eval_batch_size):
        index = heldout[start:start + settings.eval_batch_size]
        with supervised.autocast(train.device, settings.amp):
            main, _, _ = net(supervised.to_input(train.images[index], settings.channels_last))
        preds[start:start + len(index)] = main.float().argmax(-1)
    error = har.heldout_class_error(preds, train.labels[heldout], splits.num_classes)
    counts = torch.bincount(train.labels, minlength=splits.num_classes)
    strengths = har.class_strengths(error, counts, settings.har_power, settings.har_count_power)
    return strengths.to(train.device)


class SubsetBatches(DeviceBatchLoader):
    """Shuffled, augmented batches of only the positions `subset` of `dataset` (HAR's fit half), without
    copying the images; the yielded indices are positions in the whole dataset."""

    def __init__(self, dataset: DeviceDataset, subset: torch.Tensor, batch_size: int,
                 generator: torch.Generator, augment: BatchAugment | None = None) -> None:
        super().__init__(dataset, batch_size, generator, shuffle=True, drop_last=False, augment=augment)
        self.subset = subset.to(dataset.device)

    def __len__(self) -> int:
        return math.ceil(len(self.subset) / self.batch_size)

    def _epoch_order(self) -> torch.Tensor:
        assert self.generator is not None
        perm = torch.randperm(len(self.subset), generator=self.generator, device=self.generator.device)
        return self.subset[perm.to(self.subset.device)]


class _SubsetStage(supervised.Stage):
    """A training stage on the positions `subset` of the training set only (HAR's stage 1 on its fit
    part): the same network, optimiser and schedule as `supervised.Stage`, fewer batches per epoch."""

    def __init__(self, net: torch.nn.Module, settings: Settings, splits: supervised.Splits, seed: int,
                 epochs: int, subset: torch.Tensor) -> None:
        stage_settings = dataclasses.replace(settings, epochs=epochs)
        self.net = net
        self.optimizer = build_optimizer(stage_settings, net.parameters())
        self.batches = SubsetBatches(
            splits.train, subset, settings.batch_size, supervised.data_generator(seed),
            supervised.augmentation(settings.augment, settings.dataset),
        )
        self.scheduler = build_scheduler(stage_settings, self.optimizer, len(self.batches))


def _test_batches(splits: supervised.Splits, batch_size: int):
    """The test split's sequential batches: on-device tensors, or Clothing1M's decoded files."""
    own = getattr(splits.test, "eval_batches", None)
    return own(batch_size) if own is not None else supervised.eval_batches(splits.test, batch_size)


def new_stage(settings: Settings, splits: supervised.Splits, seed: int, device: torch.device,
              epochs: int, subset: torch.Tensor | None = None, stream: str = "init") -> supervised.Stage:
    """Network (+ ACs), optimiser and schedule of one training stage (HAR has two; the others one);
    `subset`: train on those positions of the training set only; `stream`: the initialisation's."""
    net = supervised.prepare_model(build_network(settings, splits.num_classes, seed, stream), device,
                                   settings.channels_last)
    if subset is not None:
        return _SubsetStage(net, settings, splits, seed, epochs, subset)
    if settings.dataset == "clothing1m":
        return clothing1m_data.Stage(net, settings, splits, seed, epochs)
    return supervised.Stage(net, settings, splits, seed, epochs)


class AlascaRun(Run):
    """One seed of one (noise, method) cell, an epoch per unit; a two-stage method's (HAR's) stages run
    back to back in the same run (stage-1 epochs, then the strengths and a fresh network for stage 2)."""

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        if job.spec["settings"].get("dataset") == "clothing1m":  # Table 2: files decoded per batch
            self.settings, self.seed, self.splits = clothing1m_data.single_seed_setup(job, Settings)
        else:
            self.settings, self.seed, self.splits = supervised.single_seed_setup(job, Settings, "alasca")
        settings, seed, splits = self.settings, self.seed, self.splits
        self.device = device = job.device
        self.meter = EfficiencyMeter(device)  # baseline: the loaded data, shared by every method
        self.method: Method = METHODS[settings.method]
        self.stage1 = self.method.stage1_epochs(settings)
        self.total = self.stage1 + settings.epochs
        # HAR: stage 1 trains on the fit part, its class errors come from the held-out part
        self.har_split = (har.holdout_split(len(splits.train), settings.har_heldout_fraction,
                                            make_generator(seed, "har-holdout")) if self.stage1 else None)
        self.phase = new_stage(settings, splits, seed, device, self.stage1 or settings.epochs,
                               subset=None if self.har_split is None else self.har_split[0])
        self.ema = als.EmaConfidence(
            len(splits.train), splits.num_classes, settings.beta, settings.tau, device
        )
        self.strengths: torch.Tensor | None = None  # HAR's per-class s_c, set at the stage boundary
        # Co-teaching's second network: its own initialisation and optimiser, stepped on the same batches
        self.peer = (new_stage(settings, splits, seed, device, settings.epochs, stream="init-peer")
                     if getattr(self.method, "two_networks", False) else None)
        self.extras: dict[str, Any] = {}  # a method's per-run state (ELR's targets, CRUST/FINE's selection)
        self.method.setup(self)
        # Fig. 3: per-epoch clean/noisy confidence statistics (off unless `log_confidence`)
        self.confidence = ConfidenceLog(len(splits.train), device) if settings.log_confidence else None
        self.clip_rate = settings.clip_rate()
        self.rows: list[dict[str, Any]] = []
        self.train_time, self.peak_mb = 0.0, 0.0

    def advance(self) -> dict[str, float]:
        settings, splits, device, method = self.settings, self.splits, self.device, self.method
        if self.stage1 and self.position == self.stage1 and self.strengths is None:
            assert self.har_split is not None
            self.strengths = har_strengths(self.phase.net, settings, splits, self.har_split[1])
            # stage 2: a fresh network
            self.phase = new_stage(settings, splits, self.seed, device, settings.epochs)
        epoch_logs = method.start_epoch(self)  # CRUST's / FINE's selection, before the timed loop
        phase, meter, peer = self.phase, self.meter, self.peer
        in_stage2 = self.strengths is not None
        stage = (2 if in_stage2 else 1) if self.stage1 else 0  # 0: single-stage methods
        phase.net.train()
        if peer is not None:
            peer.net.train()
        # running sums stay on the device (float64/int64) and are read once after the timed loop, so no
        # step waits for the host
        sums: dict[str, torch.Tensor] = {}
        logged: dict[str, torch.Tensor] = {}  # the method's own logs (har_penalty, cdr_masked)
        seen = 0
        meter.start()
        for index, images, labels in phase.batches:
            with supervised.autocast(device, settings.amp):
                inputs = supervised.to_input(images, settings.channels_last)
                main, acs, feats = phase.net(inputs)
                if peer is None:
                    loss, alpha, logs = method.loss(self, main, acs, feats, labels, index)
                else:  # Co-teaching: both networks' losses in one graph (disjoint parameters)
                    main2, acs2, _ = peer.net(inputs)
                    loss, alpha, logs = method.pair_loss(self, (main, acs), (main2, acs2), labels, index)
            _accumulate(logged, logs, len(index), device)
            if self.confidence is not None:
                _accumulate(sums, self._confidence_sums(main, labels, index), 1, device)
            meter.sample()  # activations held
            phase.optimizer.zero_grad(set_to_none=True)
            if peer is not None:
                peer.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            meter.sample()  # gradients held
            _accumulate(logged, method.after_backward(self), len(index), device)
            phase.optimizer.step()
            phase.scheduler.step()
            if peer is not None:
                peer.optimizer.step()
                peer.scheduler.step()
            batch_sums = {"loss": loss.detach().double() * len(index),
                          "train_acc_noisy": (main.detach().argmax(-1) == labels).sum()}
            if alpha is not None:
                noisy = labels != splits.clean_labels[index]
                alpha64 = alpha.detach().double()
                batch_sums.update(alpha_clean=(alpha64 * ~noisy).sum(), alpha_noisy=(alpha64 * noisy).sum(),
                                  n_noisy=noisy.sum())
            _accumulate(sums, batch_sums, 1, device)
            seen += len(index)
        epoch_time = meter.stop()
        totals, logged_totals = _to_host(sums), _to_host(logged)  # the epoch's one synchronisation
        self.train_time += epoch_time
        self.peak_mb = max(self.peak_mb, meter.peak_memory_mb())
        metrics = evaluate(phase.net, settings, splits) if peer is None else evaluate_pair(
            phase.net, peer.net, settings, splits)
        row: dict[str, Any] = {
            "seed": self.seed,
            "epoch": self.position + 1,
            "stage": stage,
            "lr": phase.optimizer.param_groups[0]["lr"],
            "loss": totals["loss"] / seen,
            "train_acc_noisy": totals["train_acc_noisy"] / seen,
            **metrics,
            "epoch_time_s": epoch_time,
            "train_time_s": self.train_time,
            "peak_mem_mb": self.peak_mb,
        }
        for key, total in logged_totals.items():
            row[key] = total / seen
        row.update(epoch_logs)
        if "select_tp" in row:  # the epoch's selection F1 = 2·TP / (|selected| + |correctly labelled|)
            denominator = row["select_n"] + row["select_clean"]
            row["select_f1"] = 2 * row["select_tp"] / denominator if denominator else math.nan
        if self.confidence is not None:
            row.update(epoch_row(totals))
        if "alpha_clean" in totals:
            n_noisy = totals["n_noisy"]
            row["alpha_clean"] = totals["alpha_clean"] / max(1.0, seen - n_noisy)
            row["alpha_noisy"] = totals["alpha_noisy"] / n_noisy if n_noisy else math.nan
        self.rows.append(row)
        _add_running_means(self.rows, settings.report_last_epochs)
        return {"test_acc": metrics["test_acc"]}

    def _confidence_sums(self, main: torch.Tensor, labels: torch.Tensor,
                         index: torch.Tensor) -> dict[str, torch.Tensor]:
        """Fig. 3's sums for one batch; a method without EMA confidence gets the EMA updated here, so
        both confidences are logged whatever the method (the update never reaches its loss)."""
        assert self.confidence is not None
        main32 = main.detach().float()
        if not self.method.uses_ema:
            self.ema.update(index, main32)
        ema = self.ema.confidence(index, labels)
        return self.confidence.batch_sums(index, main32, labels, self.splits.clean_labels[index], ema)

    def state_dict(self) -> dict[str, Any]:
        return {
            "confidence": None if self.confidence is None else self.confidence.state_dict(),
            "position": self.position,
            "phase": self.phase.state_dict(),
            "ema": self.ema.state_dict(),
            "strengths": None if self.strengths is None else self.strengths.cpu(),
            "rows": self.rows,
            "train_time": self.train_time,
            "peak_mb": self.peak_mb,
            "peer": None if self.peer is None else self.peer.state_dict(),
            "extras": _extras_state(self.extras),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position, self.rows = state["position"], state["rows"]
        self.train_time, self.peak_mb = state["train_time"], state["peak_mb"]
        if state["strengths"] is not None:  # saved in HAR's stage 2: its network, not stage 1's
            self.strengths = state["strengths"].to(self.device)
            self.phase = new_stage(self.settings, self.splits, self.seed, self.device, self.settings.epochs)
        self.phase.load_state_dict(state["phase"])
        self.ema.load_state_dict(state["ema"])
        if self.peer is not None:
            self.peer.load_state_dict(state["peer"])
        _load_extras(self.extras, state.get("extras", {}), self.device)
        if self.confidence is not None and state.get("confidence") is not None:
            self.confidence.load_state_dict(state["confidence"])

    def outputs(self) -> dict[int, SeedOutput]:
        splits, device = self.splits, self.device
        noise_rate = (splits.train.labels != splits.clean_labels).float().mean().item()
        if self.settings.dataset == "clothing1m":  # no clean labels for its noisy training set
            noise_rate = math.nan
        extra = {
            "train_size": len(splits.train),
            "test_size": len(splits.test),
            "realised_noise_rate": noise_rate,
            "efficiency_device": device.type,
            "memory_measure": "cuda max_memory_allocated" if device.type == "cuda" else "cpu peak RSS",
            "precision": precision(self.settings, device),
            "channels_last": self.settings.channels_last and device.type == "cuda",
        }
        if self.strengths is not None:
            extra["har_class_strengths"] = [float(v) for v in self.strengths.cpu()]
        files: dict[str, Any] = {}
        if self.settings.save_model:  # for the analysis step (papers/alasca/jacobian.py)
            files["model.pt"] = {k: v.detach().cpu() for k, v in self.phase.net.state_dict().items()}
        return {self.seed: SeedOutput(self.rows, files=files, extra=extra)}


RUN = AlascaRun


@torch.no_grad()
def evaluate_pair(net1: Network, net2: Network, settings: Settings,
                  splits: supervised.Splits) -> dict[str, float]:
    """Co-teaching's test accuracy as ALASCA's `validate_multi_networks` computes it (`test_acc`): the
    argmax of the mean logits of both networks' main heads and, with ACs, both last ACs; and the first
    network's main head alone (`test_acc_net1`, the Co-teaching paper's report)."""
    net1.eval()
    net2.eval()
    correct = defaultdict(float)
    for _, images, labels in _test_batches(splits, settings.eval_batch_size):
        with supervised.autocast(images.device, settings.amp):
            inputs = supervised.to_input(images, settings.channels_last)
            (main1, acs1, _), (main2, acs2, _) = net1(inputs), net2(inputs)
        heads = [main1, main2] + ([acs1[-1], acs2[-1]] if acs1 else [])
        mean = torch.stack([h.float() for h in heads]).mean(dim=0)
        correct["test_acc"] += (mean.argmax(-1) == labels).sum().item()
        correct["test_acc_net1"] += (main1.argmax(-1) == labels).sum().item()
    n = len(splits.test)
    metrics = {key: value / n for key, value in correct.items()}
    metrics["test_acc_ens"] = math.nan
    return metrics


def _extras_state(extras: dict[str, Any]) -> dict[str, Any]:
    """A method's per-run state as checkpointable values (ELR's targets tensor, not the object)."""
    state: dict[str, Any] = {}
    for key, value in extras.items():
        state[key] = value.targets.cpu() if hasattr(value, "targets") else (
            value.cpu() if isinstance(value, torch.Tensor) else value)
    return state


def _load_extras(extras: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
    for key, value in state.items():
        if hasattr(extras.get(key), "targets"):
            extras[key].targets = value.to(device)
        else:
            extras[key] = value.to(device) if isinstance(value, torch.Tensor) else value


def precision(settings: Settings, device: torch.device) -> str:
    """The numeric precision every method's training steps (and the time/memory measured on them) use:
    one autocast setting for the forward pass, the losses and HAR's penalty; CDR's masking and the
    optimiser act on the fp32 parameter gradients."""
    if settings.amp and device.type == "cuda":
        return "bf16 autocast forward/loss (incl. HAR penalty), fp32 weights/gradients/optimiser"
    return "fp32"


def _accumulate(sums: dict[str, torch.Tensor], logs: dict[str, torch.Tensor | float], batch_size: int,
                device: torch.device) -> None:
    """Add a method's per-sample-mean logs of one batch, weighted by the batch size, to the epoch's
    device-resident sums (float64; integer counts stay int64). No host synchronisation."""
    for key, value in logs.items():
        tensor = torch.as_tensor(value, device=device).detach()
        if tensor.is_floating_point():
            tensor = tensor.double()
        tensor = tensor * batch_size
        sums[key] = sums[key] + tensor if key in sums else tensor


def _to_host(sums: dict[str, torch.Tensor]) -> dict[str, float]:
    """The epoch's device sums as Python floats, in one transfer."""
    if not sums:
        return {}
    values = torch.stack([v.double() for v in sums.values()]).tolist()
    return dict(zip(sums, values, strict=True))


def _add_running_means(rows: list[dict[str, Any]], last: int) -> None:
    """`test_acc_avg`/`test_acc_ens_avg` on the newest row: the mean over its last `last` epochs of the
    current stage (the official code reports the mean test accuracy of the last 20 epochs)."""
    row = rows[-1]
    window = [r for r in rows if r["stage"] == row["stage"]][-last:]
    for key in ("test_acc", "test_acc_ens"):
        row[f"{key}_avg"] = sum(r[key] for r in window) / len(window)
