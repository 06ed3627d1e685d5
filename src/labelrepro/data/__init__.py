"""Data shared by the papers: torchvision datasets held on the training device (vision.py), batched
on-device augmentation (augment.py), synthetic data (synthetic.py), the label-noise models (noise.py,
with their torch-free specs in noise_spec.py), and torchvision-format fakes and smoke-scale stand-ins
(fake.py, standin.py). Import the submodules: this package imports nothing, so reading a noise spec
does not load torch."""
