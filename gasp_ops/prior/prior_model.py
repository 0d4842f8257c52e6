"""The Gaussian prior (GASP §3.3): canonical template G0, per-Gaussian features f, identity codes z, decoder D.

Subject j's avatar, Gaussian i, attribute a:  G_ij[a] = G0_i[a] + D(f_i, z_j)[a]   (Eq. 4, local attributes).

G0 holds GaussianAvatar's local attributes (offsets [N, 3], log_scales [N, 3], quats [N, 4], colors [N, 3],
opacity_logits [N]) initialised from ``GaussianAvatar.from_binding``; with ``use_template=False`` G0 is frozen at
that init and D alone models every subject (the canonical-Gaussians ablation). Since D's projections start at
zero, an untrained prior decodes the template exactly.
"""

from __future__ import annotations

import torch
from torch import nn

from gasp_ops.avatar import ATTRIBUTES, GaussianAvatar
from gasp_ops.binding.uv_init import UVBinding, uv_binding
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.prior.config import PriorConfig
from gasp_ops.prior.decoder import PriorDecoder
from gasp_ops.avatar import pose_attributes
from gasp_ops.render.gaussians import Gaussians3D


class GaussianPrior(nn.Module):
    """Template + features + codes + decoder for ``num_subjects`` training identities.

    Buffers: faces [F, 3], face_ids [N], barycentrics [N, 3], scalp [N] bool (Gaussian bound to a scalp face),
    init_log_scales [N, 3] (the template's init, for the scale regulariser). Parameters: template_<attribute>,
    features [N, feature_dim], codes [J, code_dim], decoder.*.
    """

    def __init__(self, avatar: GaussianAvatar, scalp_faces: torch.Tensor, num_subjects: int, config: PriorConfig,
                 generator: torch.Generator | None = None):
        super().__init__()
        g = generator if generator is not None else torch.Generator().manual_seed(config.seed)
        self.use_template = bool(config.use_template)
        self.register_buffer("faces", avatar.faces.clone())
        self.register_buffer("face_ids", avatar.face_ids.clone())
        self.register_buffer("barycentrics", avatar.barycentrics.clone())
        self.register_buffer("scalp", scalp_faces.bool()[avatar.face_ids].clone())
        self.register_buffer("init_log_scales", avatar.log_scales.clone())
        for name in ATTRIBUTES:
            p = nn.Parameter(getattr(avatar, name).detach().clone().float(), requires_grad=self.use_template)
            self.register_parameter(f"template_{name}", p)
        n = avatar.count
        self.features = nn.Parameter(torch.randn(n, config.feature_dim, generator=g))
        self.codes = nn.Parameter(torch.randn(num_subjects, config.code_dim, generator=g) * config.code_init_std)
        decoder_seed = int(torch.randint(0, 2**62, (1,), generator=g))
        with torch.random.fork_rng(devices=[]):  # reproducible decoder init, global RNG untouched
            torch.manual_seed(decoder_seed)
            self.decoder = PriorDecoder(config.feature_dim, config.code_dim, config.hidden, config.trunk_layers)

    @classmethod
    def build(cls, head: HeadModel, config: PriorConfig, num_subjects: int,
              identity_coeffs: torch.Tensor | None = None, binding: UVBinding | None = None) -> "GaussianPrior":
        """UV-bind ``config.uv_resolution`` Gaussians to ``head`` and initialise the template on the mean shape of
        ``identity_coeffs`` [J, n_id] (the rest template when None). ``binding``: a layout to use instead (a saved
        prior's own: which texels a UV rasterisation covers can differ by a few between CPUs, whose float32 maths
        builds the head's UVs in different last bits)."""
        if binding is None:
            binding = uv_binding(head.topology, config.uv_resolution)
        with torch.no_grad():
            dev = head.template.device
            if identity_coeffs is None:
                rest = head.template
            else:
                ident = identity_coeffs.float().mean(0, keepdim=True).to(dev)
                rest = head(ident, torch.zeros(1, head.n_expression, device=dev))[0]
        avatar = GaussianAvatar.from_binding(head.topology, binding, rest.detach().cpu())  # topology lives on the CPU
        return cls(avatar, head.topology.region_mask("scalp"), num_subjects, config)

    @property
    def count(self) -> int:
        return int(self.face_ids.shape[0])

    @property
    def num_subjects(self) -> int:
        return int(self.codes.shape[0])

    def template(self) -> dict[str, torch.Tensor]:
        """G0: {attribute: [N, ...]} (opacity_logits [N])."""
        return {name: getattr(self, f"template_{name}") for name in ATTRIBUTES}

    def decode_codes(self, codes: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """Local attributes for identity codes [J, Z] -> {attribute: [J, N, ...]} in float32 (G0 + D(f, z))."""
        if autocast_dtype is not None:
            with torch.autocast(device_type=codes.device.type, dtype=autocast_dtype):
                out = self.decoder(self.features, codes)
        else:
            out = self.decoder(self.features, codes)
        attrs = {}
        for name, t0 in self.template().items():
            d = out[name].float()
            if name == "opacity_logits":
                d = d[..., 0]
            attrs[name] = t0[None] + d
        return attrs

    def decode(self, subjects: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """Local attributes of training subjects (indices [J]) -> {attribute: [J, N, ...]}."""
        return self.decode_codes(self.codes[subjects], autocast_dtype)

    def forward(self, subjects: torch.Tensor, frame_subject: torch.Tensor, vertices: torch.Tensor,
                autocast_dtype: torch.dtype | None = None) -> tuple[Gaussians3D, dict[str, torch.Tensor]]:
        """Decode each distinct subject once and pose it for its frames.

        subjects: [J] distinct subject indices; frame_subject: [B] index into ``subjects`` for each frame;
        vertices: [B, V, 3] posed meshes. Returns (world Gaussians [B, N, ...], local attributes [B, N, ...]).
        """
        attrs = self.decode(subjects, autocast_dtype)
        per_frame = {k: v[frame_subject] for k, v in attrs.items()}
        return pose_attributes(self.faces, self.face_ids, self.barycentrics, per_frame, vertices), per_frame

    def avatar(self, subject: int | None = None, code: torch.Tensor | None = None) -> GaussianAvatar:
        """A plain ``GaussianAvatar`` for one training subject, a given code [Z], or the template (both None)."""
        with torch.no_grad():
            if code is None and subject is None:
                attrs = {k: v.detach() for k, v in self.template().items()}
            else:
                z = self.codes[subject][None] if code is None else code.reshape(1, -1).to(self.codes)
                attrs = {k: v[0].detach() for k, v in self.decode_codes(z).items()}
        return GaussianAvatar(faces=self.faces, face_ids=self.face_ids, barycentrics=self.barycentrics,
                              **{k: v.float() for k, v in attrs.items()})
