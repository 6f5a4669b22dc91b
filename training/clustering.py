"""PCA, K-means and DBSCAN on global image descriptors: shared by the study and the model.

The anomaly model ships `fit_global_model`'s result inside its ONNX graph (as `global_score`);
the study (`station-train explore`) uses the same functions, so the report and the station
score parts the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from training.anomaly_model import GlobalModel

K_RANGE = range(2, 9)


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std (std floored so constant features stay finite)."""
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-6 * max(float(x.std()), 1e-12))
    return mean, scale


def fit_pca(x: np.ndarray, variance: float, seed: int) -> PCA:
    """Whitened PCA keeping `variance` of the variance (at most n - 1 components)."""
    n_max = max(1, min(x.shape[0] - 1, x.shape[1]))
    pca = PCA(n_components=n_max, whiten=True, random_state=seed).fit(x)
    keep = int(np.searchsorted(np.cumsum(pca.explained_variance_ratio_), variance) + 1)
    return PCA(n_components=min(keep, n_max), whiten=True, random_state=seed).fit(x)


def silhouette_by_k(x: np.ndarray, ks: Sequence[int], seed: int) -> dict[int, float]:
    """Silhouette of K-means for each k that leaves at least 2 points per cluster on average."""
    scores = {}
    for k in ks:
        if 2 <= k < len(x) // 2:
            labels = KMeans(k, n_init=10, random_state=seed).fit_predict(x)
            scores[k] = float(silhouette_score(x, labels))
    return scores


def fit_global_model(
    descriptors: np.ndarray, variance: float, clusters: int | None, seed: int
) -> GlobalModel:
    """PCA (whitened, `variance` kept) + K-means on good parts' descriptors.

    `clusters` None picks k by the best silhouette over 2..8 (1 when too few images); a good
    part's distance to its nearest centre is then small in every mode the good parts show
    (e.g. orientations), and a defect's distance is large.
    """
    mean, scale = standardise(descriptors)
    x = (descriptors - mean) / scale
    pca = fit_pca(x, variance, seed)
    z = pca.transform(x)
    if clusters is None:
        by_k = silhouette_by_k(z, K_RANGE, seed)
        clusters = max(by_k, key=by_k.get) if by_k else 1
    km = KMeans(clusters, n_init=10, random_state=seed).fit(z)
    projection = pca.components_.T / np.sqrt(pca.explained_variance_)
    return GlobalModel(
        mean=mean,
        scale=scale,
        projection=projection,
        offset=pca.mean_ @ projection,
        centroids=km.cluster_centers_,
    )


def global_scores(model: GlobalModel, descriptors: np.ndarray) -> np.ndarray:
    """Distance of each descriptor to the nearest good centre (numpy twin of the ONNX graph)."""
    z = ((descriptors - model.mean) / model.scale) @ model.projection - model.offset
    d2 = ((z[:, None, :] - model.centroids[None]) ** 2).sum(axis=2)
    return np.sqrt(d2.min(axis=1))


def kdistance_eps(x: np.ndarray, min_samples: int) -> tuple[float, np.ndarray]:
    """DBSCAN eps at the knee of the sorted k-distance curve (farthest point from its chord).

    Returns (eps, sorted k-distances) so the study can plot the curve with the chosen point.
    """
    d2 = ((x[:, None, :] - x[None]) ** 2).sum(axis=2)
    kth = np.sqrt(np.sort(d2, axis=1)[:, min(min_samples, len(x) - 1)])
    curve = np.sort(kth)
    n = len(curve)
    if n < 3 or curve[-1] == curve[0]:
        return float(curve[-1] or 1.0), curve
    xs = np.linspace(0.0, 1.0, n)
    ys = (curve - curve[0]) / (curve[-1] - curve[0])
    knee = int(np.argmax(xs - ys))  # distance below the chord y = x of the convex curve
    return float(curve[knee]), curve
