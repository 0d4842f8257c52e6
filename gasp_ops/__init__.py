"""GASP operations: plain PyTorch, no Dagster.

Head models, Gaussian binding, avatars, rendering, prior, fitting, synthetic data and preprocessing.
Everything that touches a GPU lives in this package.

Conventions used throughout:
- World units are metres. Head-model space: +x is the subject's left, +y up, +z out of the face (FLAME's).
- Cameras follow OpenCV: ``world_to_cam`` maps world points to camera space where +x is right, +y is down and
  +z looks forward into the scene; ``K`` is the 3x3 pixel intrinsic matrix with the pixel centre of the
  top-left pixel at (0.5, 0.5).
- Quaternions are (w, x, y, z).
"""

__version__ = "0.1.0"
