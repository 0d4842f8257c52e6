"""Instant enrolment in a warm process: models loaded once, then photo -> avatar file per request.

``gasp enroll photo.jpg --mode instant`` is a whole command: Python start, imports, the head model's arrays, both
models' SHA-256 checks, then the enrolment (16-21 s on the H200 host, 10-15 s on a 2-core CPU). A service, a
notebook or a batch of photos pays that once::

    from gasp_ops.encoder.instant_session import InstantEnroller

    enroller = InstantEnroller(device="cuda")              # the shipped prior and encoder, SHA-256 checked
    out = enroller.enroll("photo.jpg", "avatars/alice", consent="granted")
    out["avatar"]                                          # avatars/alice/avatar.safetensors

Each ``enroll`` is ``gasp_ops.fitting.report.enroll`` in instant mode: face framing, landmarks, matte, 3DMM tracking,
encoder, decode, photo projection, the avatar file (+ fit.json; the preview PNGs with ``figures=True``), written as
one unit. Measured on one H200 (benchmarks/instant_latency.py, docs/benchmarks.md): 1.5 s per photo after the
first, tracking included.
"""

from __future__ import annotations

from pathlib import Path

import torch


class InstantEnroller:
    """Holds the head model, a prior and its encoder on ``device``; ``enroll`` turns one photo (or video, or
    preprocessed frames folder) into an avatar folder.

    prior_path: default the shipped prior; encoder_path: default the shipped encoder (with the shipped prior),
    else pass the encoder trained for ``prior_path``. preset: the fitting defaults the instant config derives from
    (no optimisation steps run in instant mode). figures: also write the preview PNGs the CLI writes (~0.2 s).
    """

    def __init__(self, device="cpu", *, prior_path=None, encoder_path=None, encoder_sha256: str | None = None,
                 preset: str = "tiny", figures: bool = False):
        from gasp_ops.encoder.checkpoint import load_encoder, resolve_encoder_path
        from gasp_ops.encoder.modes import mode_config
        from gasp_ops.fitting.config import default_fit_config
        from gasp_ops.headmodel.factory import build_head_model
        from gasp_ops.prior.checkpoint import load_prior
        from gasp_ops.prior.shipped import shipped_prior_path

        self.device = torch.device(device)
        self.head = build_head_model("procedural").to(self.device)
        shipped = prior_path is None
        self.prior_path = Path(shipped_prior_path() if shipped else prior_path)
        self.prior, _ = load_prior(self.prior_path, self.head, self.device)
        path, pinned = resolve_encoder_path(encoder_path, None, "shipped" if shipped else None)
        self.encoder_path = path
        self.encoder = load_encoder(path, self.device, sha256=encoder_sha256 or pinned)[0]
        self.config = mode_config(default_fit_config(preset), "instant")
        self.figures = figures

    def enroll(self, source, out_dir, *, consent: str = "unknown", subject: str = "", owner: str = "",
               capture: dict | None = None, timings: dict | None = None, log=None) -> dict:
        """``source`` (photo / video / frames folder) -> ``out_dir`` (avatar.safetensors, fit.json[, figures]).
        Returns ``enroll``'s dict ({"avatar": path, ...}); ``timings`` receives preprocess / fit / outputs
        seconds."""
        from gasp_ops.fitting.report import enroll

        return enroll(source, out_dir, self.head, self.prior, self.config, device=self.device,
                      mode="instant", encoder=self.encoder, figures=self.figures, progress=False, consent=consent,
                      subject=subject, owner=owner, capture=capture, timings=timings, log=log)
