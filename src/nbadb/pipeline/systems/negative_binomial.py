"""NB2, the count distribution of gbm's three-pointers: X ~ NB2(μ, α), Var X = μ + α·μ².

- `fit_alpha`: α by maximum likelihood on out-of-sample (μ, y) pairs (a bounded 1-D search);
- `median`: the point forecast, the distribution's median (what minimises absolute error);
In scipy's parametrisation r = 1/α, p = r / (r + μ). P(X > line) is computed in SQL by the
predictions transform from the same μ and α (pipeline.probabilities)."""

from __future__ import annotations

import numpy as np

ALPHA_BOUNDS = (1e-4, 5.0)


def _log_likelihood(alpha: float, mu: np.ndarray, y: np.ndarray) -> float:
    from scipy.special import gammaln

    r = 1.0 / alpha
    return float(np.sum(gammaln(y + r) - gammaln(r) - gammaln(y + 1) + r * np.log(r / (r + mu))
                        + y * np.log(mu / (r + mu))))


def fit_alpha(mu: np.ndarray, y: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    mu = np.maximum(mu, 1e-6)
    result = minimize_scalar(lambda a: -_log_likelihood(a, mu, y), bounds=ALPHA_BOUNDS, method="bounded",
                             options={"xatol": 1e-5})
    return float(result.x)


def median(mu: np.ndarray, alpha: float) -> np.ndarray:
    from scipy.stats import nbinom

    r = 1.0 / alpha
    return nbinom.median(r, r / (r + np.maximum(mu, 1e-9)))
