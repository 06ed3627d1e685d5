"""The methods of the LIMIT tables (supplement Tables 4-7), one class each, in the paper's row order.

A method declares once what the rest of the package reads: its name (the experiment files' `method`),
its table label, the hyperparameters it uses (any other one set to a non-default value is a config
error), whether it needs the gradient predictor q or the classifier's features, and which method's
best-validation model it starts from (FW and DMI start from CE: a DAG edge in the workflow). Its
`objective` builds the per-batch loss. Adding a method to the tables = one class here + one grid line
in the experiment file.

The losses module is imported lazily, so the Snakefile reads this table without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from labelrepro.core.lazy import lazy_import
from labelrepro.registry import Registry

if TYPE_CHECKING:
    import torch

    from labelrepro.papers.limit.trainer import LimitRun

L = lazy_import("labelrepro.papers.limit.losses")

#: (images, noisy labels) -> (objective to back-propagate, classifier logits).
Objective = Callable[["torch.Tensor", "torch.Tensor"], tuple["torch.Tensor", "torch.Tensor"]]
#: Hyperparameters a method may use, with the value that means "not used".
HYPERPARAMETER_DEFAULTS: dict[str, float] = {"sigma": 0.0, "lam": 0.0, "beta": 0.0, "fw_quantile": 0.97}


class Method:
    """One row of the LIMIT tables."""

    name: ClassVar[str]
    label: ClassVar[str]  # LaTeX row label
    #: LaTeX row label in tables without the sampling variants (Tables 6, 7 write "LIMIT_G", not "- S")
    short_label: ClassVar[str | None] = None
    paper_name: ClassVar[str]  # plain-text name (run metadata `method_paper_name`)
    uses: ClassVar[frozenset[str]] = frozenset()
    starts_from: ClassVar[str | None] = None  # a method whose best-validation classifier is the start
    #: which net `starts_from`'s classifier initialises: the classifier (FW, DMI) or q (LIMIT + init.)
    init_target: ClassVar[str] = "classifier"
    predictor: ClassVar[str | None] = None  # q's family (gaussian | laplace) when the method trains q
    needs_features: ClassVar[bool] = False  # the objective reads the penultimate features z

    def check(self, settings: Any) -> None:
        """Method-specific value checks, beyond `uses` (raise ValueError)."""

    def objective(self, run: LimitRun) -> Objective:
        raise NotImplementedError


METHODS: Registry[Method] = Registry("LIMIT method")


#: Class decorator: `@method("name")` registers one instance of the method class under that name.
method = METHODS.register_instance


def _needs_sigma(settings: Any) -> None:
    if settings.sigma <= 0:
        raise ValueError(f"method {settings.method} needs sigma > 0")


@method("ce")
class CrossEntropy(Method):
    label = "CE"
    paper_name = "CE"

    def objective(self, run: LimitRun) -> Objective:
        clf = run.nets.classifier

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            return L.cross_entropy(a, y), a

        return step


class _GradientNoise(Method):
    """CE whose logit gradient gets additive noise of std sigma (Gaussian or Laplace)."""

    uses = frozenset({"sigma"})
    noise: ClassVar[str]

    def check(self, settings: Any) -> None:
        _needs_sigma(settings)

    def objective(self, run: LimitRun) -> Objective:
        clf, sigma, kind, noise = run.nets.classifier, run.settings.sigma, self.noise, run.noise

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            return L.cross_entropy(L.with_logit_gradient_noise(a, sigma, kind, noise), y), a

        return step


@method("ce_gn")
class CrossEntropyGaussianNoise(_GradientNoise):
    label = "CE + GN"
    paper_name = "CE + GN"
    noise = "gaussian"


@method("ce_ln")
class CrossEntropyLaplaceNoise(_GradientNoise):
    label = "CE + LN"
    paper_name = "CE + LN"
    noise = "laplace"


@method("mae")
class MeanAbsoluteError(Method):
    label = "MAE"
    paper_name = "MAE"

    def objective(self, run: LimitRun) -> Objective:
        clf = run.nets.classifier

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            return L.mae_loss(a, y), a

        return step


@method("fw")
class ForwardCorrection(Method):
    """Forward correction with the transition matrix estimated from the CE model's softmax outputs."""

    label = "FW"
    paper_name = "FW"
    uses = frozenset({"fw_quantile"})
    starts_from = "ce"

    def objective(self, run: LimitRun) -> Objective:
        clf = run.nets.classifier
        probs = run.start_model_outputs(run.split.train)
        T = L.estimate_transition_matrix(probs.cpu(), quantile=run.settings.fw_quantile).to(run.job.device)

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            return L.forward_corrected_ce(a, y, T), a

        return step


@method("dmi")
class DeterminantMutualInformation(Method):
    label = "DMI"
    paper_name = "DMI"
    starts_from = "ce"

    def objective(self, run: LimitRun) -> Objective:
        clf, eps = run.nets.classifier, run.settings.dmi_eps

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            return L.dmi_loss(a, y, a.shape[1], eps=eps), a

        return step


@method("soft_reg")
class SoftRegularization(Method):
    """Eq. (11): the label-information term on the features, with q predicting the logit gradient."""

    label = "Soft reg.\\ (11)"
    paper_name = "Soft reg. (11)"
    uses = frozenset({"lam", "beta"})
    predictor = "gaussian"
    needs_features = True

    def check(self, settings: Any) -> None:
        if settings.lam <= 0:
            raise ValueError("soft_reg needs lam > 0")

    def objective(self, run: LimitRun) -> Objective:
        clf, q, s = run.nets.classifier, run.nets.predictor, run.settings
        assert q is not None

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a, z = clf.forward_features(x)
            return L.soft_regularization_loss(a, z, q(x), y, s.lam, s.beta), a

        return step


class _Limit(Method):
    """LIMIT: the classifier is trained with q's predicted logit gradient (or a sample around it, + S),
    q with its Gaussian/Laplace loss; one backward pass, disjoint parameters."""

    sample: ClassVar[bool] = False

    def check(self, settings: Any) -> None:
        if self.sample:
            _needs_sigma(settings)

    def objective(self, run: LimitRun) -> Objective:
        clf, q, s, noise = run.nets.classifier, run.nets.predictor, run.settings, run.noise
        kind = self.predictor
        assert q is not None

        def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            mu = L.predicted_gradient(a, q(x))
            g = L.sample_predicted_gradient(mu, s.sigma, kind, noise) if self.sample else mu
            q_loss = L.limit_predictor_loss(mu, L.ce_logit_gradient(a, y), s.beta, kind)
            return L.limit_classifier_surrogate(a, g) + q_loss, a

        return step


@method("limit_g_s")
class LimitGaussianSampled(_Limit):
    label = "$\\mathrm{LIMIT}_{\\mathcal{G}} + \\mathrm{S}$"
    paper_name = "LIMIT_G + S"
    uses = frozenset({"beta", "sigma"})
    predictor = "gaussian"
    sample = True


@method("limit_l_s")
class LimitLaplaceSampled(_Limit):
    label = "$\\mathrm{LIMIT}_{\\mathcal{L}} + \\mathrm{S}$"
    paper_name = "LIMIT_L + S"
    uses = frozenset({"beta", "sigma"})
    predictor = "laplace"
    sample = True


@method("limit_g")
class LimitGaussian(_Limit):
    label = "$\\mathrm{LIMIT}_{\\mathcal{G}} - \\mathrm{S}$"
    short_label = "$\\mathrm{LIMIT}_{\\mathcal{G}}$"
    paper_name = "LIMIT_G - S"
    uses = frozenset({"beta"})
    predictor = "gaussian"


@method("limit_l")
class LimitLaplace(_Limit):
    label = "$\\mathrm{LIMIT}_{\\mathcal{L}} - \\mathrm{S}$"
    short_label = "$\\mathrm{LIMIT}_{\\mathcal{L}}$"
    paper_name = "LIMIT_L - S"
    uses = frozenset({"beta"})
    predictor = "laplace"


@method("limit_g_init")
class LimitGaussianInit(LimitGaussian):
    """LIMIT_G whose gradient predictor q starts from the best-validation CE classifier of its column
    (Tables 6, 7 "+ init."; official `methods/limit.py` copies the stored classifier's named parameters
    into q, so q's batch-norm running statistics start fresh). The classifier starts from scratch."""

    label = "$\\mathrm{LIMIT}_{\\mathcal{G}}$ + init."
    short_label = None  # not LIMIT_G's
    paper_name = "LIMIT_G + init."
    starts_from = "ce"
    init_target = "predictor"


@method("limit_l_init")
class LimitLaplaceInit(LimitLaplace):
    """LIMIT_L with q initialised from the CE classifier, as `limit_g_init`."""

    label = "$\\mathrm{LIMIT}_{\\mathcal{L}}$ + init."
    short_label = None  # not LIMIT_L's
    paper_name = "LIMIT_L + init."
    starts_from = "ce"
    init_target = "predictor"


def row_label(name: str, short: bool = False) -> str:
    """A method's LaTeX row label; `short` drops the " - S" of Tables 4-5 (Tables 6-7 have no + S rows)."""
    m = METHODS[name]
    return (m.short_label or m.label) if short else m.label


def table_order() -> list[str]:
    """Method names in the order they are defined here (the paper's row order)."""
    return METHODS.in_order()
